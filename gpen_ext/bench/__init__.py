"""Developer tools, not needed by the product: the network benchmark (``python -m gpen_ext.bench``),
the pipeline benchmark (``python -m gpen_ext.bench.pipeline``) and the recipe weights both use."""

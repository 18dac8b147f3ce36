"""Developer tools, not needed by the product: the network benchmark with its roofline
(``python -m gpen_ext.bench``), the pipeline benchmark (``python -m gpen_ext.bench.pipeline``), the
one-command GPU check (``python -m gpen_ext.bench.gpu_check``) and the recipe weights they use."""
from .network import main

if __name__ == "__main__":  # a spawned measuring child imports this module too
    main()

"""The model wing: the GPEN network, reading and recognising checkpoints, loading a model. Imports nothing above it."""

"""The faces wing: images, detection, alignment, masks, paste-back and the pipeline. Imports only the model wing."""

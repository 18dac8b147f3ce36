"""The WebUI wing: options, settings, infotext, the API, the model cache and folders.

It knows what the WebUI expects but imports nothing from it (``scripts/`` does); imports faces and model.
"""

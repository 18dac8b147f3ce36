"""Stand-in for the WebUI's ``modules`` package (A1111 1.10); see ../README.md."""

"""One module per console page; each a thin router: read the API, shape, render."""

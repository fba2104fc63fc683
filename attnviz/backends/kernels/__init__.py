"""CUDA C sources for the CuPy backend, found with ``importlib.resources`` (installed, editable or
frozen alike) and compiled at run time by ``cupy.RawModule``. Nothing here imports CuPy."""

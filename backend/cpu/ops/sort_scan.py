"""Op kernels: being written (see __init__.py for the interface)."""

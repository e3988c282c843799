"""LLVM IR emission shared by the CPU and the CUDA (NVPTX) renderers: the scalar rule table
(``scalar``, ``scalar_complex``), the vectorisable math library (``vmath``) and the builder
kit (``builders``: loops, ifs, index arithmetic)."""

"""LLVM IR emission shared by the CPU and the CUDA (NVPTX) renderers: the scalar rule table
(``scalar``, ``scalar_complex``), the vectorisable math library (``vmath``) and the builder
kit (``builders``: loops, ifs, index arithmetic)."""

import threading

# LLVM's global context (where llvmlite parses every module) and the shared target machines are
# not thread-safe: every llvmlite.binding step on modules (parse, optimise, JIT, emit) holds
# this lock. Building ``llvmlite.ir`` text is pure Python and runs in parallel.
LLVM_LOCK = threading.RLock()

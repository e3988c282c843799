"""The shared middle: jaxpr -> kernel program (``funcgrad.backend.kernel_ir``), used by every
target: bfloat16 legalisation (``bf16``), jaxpr rewrites (``rewrite``), the jaxpr passes
(``passes``) and the fusion pass (``fusion``)."""

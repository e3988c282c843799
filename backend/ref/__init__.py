"""The reference target: kernel programs run by the numpy interpreter ``kernel_ir.interpret``."""

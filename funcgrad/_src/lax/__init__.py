"""funcgrad's primitives (one block per primitive: wrapper and every rule) and the lax functions
composed from them. ``funcgrad.lax`` re-exports the public ones."""

"""qshock.manifolds: manifolds, charts and quotients of neural-network parameter symmetries."""

__all__: list[str] = []

"""Frozen third-party networks used inside losses (never trained by lowlight).

Each module writes the architecture in plain torch and loads weights that an optional
package ships (safely, ``torch.load(weights_only=True)``, hash-checked); nothing is
downloaded. Nothing here is imported by ``import lowlight``.
"""

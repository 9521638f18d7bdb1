"""Enhancement models, one file per method. Each file registers its models in
:data:`lowlight.registry.MODELS`; nothing here is imported until a model is looked up."""

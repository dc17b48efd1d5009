"""Exact ReLU ResNet constructions approximating flows of ODEs with L1-in-time, bounded Lipschitz right-hand sides."""

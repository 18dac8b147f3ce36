"""The GPEN-BFR network (``FullGenerator``), independent of how its weights are stored."""
from .config import GPENConfig, expected_state_dict
from .generator import GPENGenerator, build_generator
from .precision import auto_dtype

__all__ = ["GPENConfig", "GPENGenerator", "auto_dtype", "build_generator", "expected_state_dict"]

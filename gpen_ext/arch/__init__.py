"""The GPEN-BFR network (``FullGenerator``), independent of how its weights are stored."""
from .config import GPENConfig, expected_state_dict

__all__ = ["GPENConfig", "expected_state_dict"]

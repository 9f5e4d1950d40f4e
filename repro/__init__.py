"""repro: reproducibility package for Yue et al., "Does Reinforcement Learning Really
Incentivize Reasoning Capacity in LLMs Beyond the Base Model?" (arXiv 2504.13837)."""

__version__ = "0.1.0"

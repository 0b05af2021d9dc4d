"""CLV and churn models: BTYD features in the engine, BG/NBD / MBG/NBD / Pareto/NBD purchase
models and the Gamma-Gamma spend model over ``lifetimes`` (behind our own classes), holdout
validation, CLV and the campaign's incremental CLV, churn scorers, MLflow persistence."""

"""The planner: hyperparameters from the data and the hardware, the learning-rate range test,
Optuna search, and memory / time / storage / cost estimates checked against measurement.

Modules: catalog (model shapes, GPUs), methods (what a method trains), memory, compute (FLOPs,
time), cost (storage, money, the seed's formulas), advise (what fits, multi-GPU), emit
(accelerate / DeepSpeed files), hparams (the rules), lr_finder, schedules, search (Optuna),
steps (a few real training steps), measure (predicted vs measured).
"""

"""scikit-learn's own estimator checks, one test per check, on small but learning settings,
with no expected failure: sample-weight equivalence and subset invariance included.

The estimators keep their default ``validation_fraction=0.1``, so the checks on one sample
and other tiny data go through the validation split's fallbacks too.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from glai import GLAIClassifier, GLAIRegressor

# enough to pass the checks' accuracy (> 0.83 on blobs) and R² (> 0.5) floors, in 15 epochs
SMALL = {
    "hidden_features": 16,
    "epochs": 10,
    "max_structural_epochs": 5,
    "structural_lr": 3e-2,
}


@parametrize_with_checks([GLAIClassifier(**SMALL), GLAIRegressor(**SMALL)])
def test_scikit_learn_check(estimator, check):
    check(estimator)

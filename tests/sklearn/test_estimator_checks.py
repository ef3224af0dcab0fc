"""scikit-learn's own estimator checks, one test per check, on small but learning settings.

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

# The one check that cannot pass: it compares fitting with integer weights against fitting
# on repeated rows to rtol=1e-7. The rows held out for validation differ between the two (as
# they do for MLPClassifier with early_stopping=True), and float32 training agrees only to
# its rounding even without a split; test_sample_weights.py checks the equivalence at that
# precision instead.
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": (
        "weighted and repeated rows split into different validation sets, and float32 "
        "training agrees only to its rounding (see tests/sklearn/test_sample_weights.py)"
    ),
    "check_methods_subset_invariance": (
        "float32 matrix products over batches of different sizes agree only to float32 "
        "rounding: a row predicted within a subset can differ from the same row predicted "
        "within the whole set by about 1e-7, the check's tolerance"
    ),
}


@parametrize_with_checks(
    [GLAIClassifier(**SMALL), GLAIRegressor(**SMALL)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED,
)
def test_scikit_learn_check(estimator, check):
    check(estimator)

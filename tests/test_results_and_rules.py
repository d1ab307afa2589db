"""The valid values of every setting (profiles.RULES), the results file's messages and the
-p value types, each against values written out here from the ranges the docs state.

No TensorFlow: these are the checks `kdtutor run` makes before any kernel starts.
"""

from pathlib import Path

import pytest

from kdtutor.series import notebooks, profiles, results

INF, NAN = float("inf"), float("nan")
_EPOCHS = ([1, 3], [0, -1, 1.0, True])  # at least one epoch; an int, not a float or a bool
_POSITIVE = ([1, 10**6], [0, -1])
_SEEDS = ([2, 5], [1, 0])  # the paired comparison needs two seeds
_SIZE = ([10, 3990, 0.2, 0.99], [9, 3991, 0.0, 1.0, -0.5])  # mnist-5k: 10 to 4,000 - 10

#: (valid values, refused values) of every setting, from the ranges the docs and the
#: notebooks state (mnist-5k's 4,000 train images where images are counted).
VALUES = {
    "teacher": (["cnn", "hinton"], ["mlp", "CNN"]),
    "teacher_epochs": _EPOCHS,
    "student_hidden": ([[128], (64, 32), 16], [[], [0], [True], [1.5], "128"]),
    "student_images": ([10, 4000], [9, 4001, True, 100.0]),
    "student_epochs": _EPOCHS,
    "batch_size": ([1, 64], [0]),
    "learning_rate": ([1e-9, 10.0], [0.0, -1e-3, INF, NAN]),
    "seeds": _SEEDS,
    "temperature": ([0.01, 1, 100], [0.0099, 100.01, 0]),
    "alpha": ([0, 0.5, 1], [-0.01, 1.01, NAN, "0.5"]),
    "validation_size": _SIZE,
    "sweep_teacher_epochs": _EPOCHS,
    "sweep_temperatures": ([[0.01, 100.0], (2.0,)], [[], [2.0, 0.0], 8.0, "8", [101]]),
    "sweep_alphas": ([[0.0, 1.0]], [[1.5], [-0.1], 0.5]),
    "sweep_epochs": ([[20, 40]], [[0], [], [2.5]]),
    "sweep_seeds": _SEEDS,
    "compare_epochs": _EPOCHS,
    "prune_sparsity": ([0.0, 0.99], [1.0, -0.1]),
    "prune_epochs": _EPOCHS,
    "calibration_samples": _POSITIVE,
    "latency_warmup": ([0, 20], [-1]),
    "latency_runs": _POSITIVE,
    "latency_rounds": _POSITIVE,
    "latency_threads": _POSITIVE,
    "label_fractions": ([[0.01, 1.0]], [[0.0, 1.0], [1.01], []]),
    "label_fraction_batch_size": _POSITIVE,
    "label_fraction_seeds": _SEEDS,
    "early_stopping_validation_size": _SIZE,
    "early_stopping_eval_steps": _POSITIVE,
    "early_stopping_patience": _POSITIVE,
    "early_stopping_max_steps": _POSITIVE,
    "baseline_fraction": ([0.001, 1.0], [0.0, 1.01]),
    "augment_shift": ([0.0, 1.0], [-0.01, 1.01]),
    "augment_rotation": ([0.0, 1.0], [-0.01, 1.01]),
    "label_smoothing": ([0.0, 1.0], [-0.01, 1.01]),
    "omitted_digit": ([0, 9], [-1, 10]),
    "feature_weight": ([0.0, 1e6], [-0.01, INF]),
    "tree_max_depth": _POSITIVE,
    "seed": ([0, 1, 2**32 - 1], [-1, 2**32, True, 1.0]),
    "tiny_epochs": _EPOCHS,
    "prune_min_share": ([0.0, 0.5], [1.0, -0.01]),
    "temperatures": ([[1, 2, 4, 8, 20], [0.01, 100]], [[0.0], [101], 4]),
}


def test_every_setting_and_numeric_parameter_has_a_rule():
    assert set(VALUES) == set(profiles.RULES)
    assert set(profiles.PROFILES["quick"]) - {"dataset"} <= set(VALUES)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_each_rule_takes_its_range_and_refuses_what_is_outside(name):
    valid, refused = VALUES[name]
    for value in valid:
        assert profiles.check_value(name.upper(), value) is value
    for value in refused:
        with pytest.raises(ValueError, match=f"^`{name.upper()}"):
            profiles.check_value(name.upper(), value)
    assert profiles.check_value(name.upper(), None) is None  # None: the profile's value


def test_a_rule_message_names_the_value_the_range_and_why():
    with pytest.raises(ValueError) as refused:
        profiles.check_value("Seed", True)
    assert str(refused.value) == (
        "`Seed` must be an integer in [0, 4294967295]; got True. Seeds are in [0, 2**32)."
    )
    with pytest.raises(ValueError) as refused:
        profiles.check_value("PRUNE_SPARSITY", 1)
    assert str(refused.value) == (
        "`PRUNE_SPARSITY` must be a number in [0, 1); got 1 of type int. "
        "1 would remove every weight."
    )
    with pytest.raises(ValueError) as refused:
        profiles.check_value("LEARNING_RATE", 0)
    assert str(refused.value) == "`LEARNING_RATE` must be a number in (0, inf); got 0 of type int."
    with pytest.raises(ValueError) as refused:
        profiles.check_value("STUDENT_HIDDEN", [0])
    assert str(refused.value) == (
        "`STUDENT_HIDDEN` must hold positive integers, e.g. (128,); got (0,). "
        "They are the widths of the hidden layers, e.g. [128]."
    )
    assert profiles.check_value("DATASET", "anything") == "anything"  # text: no rule


def test_image_counts_are_bounded_by_the_dataset_s_train_split():
    # mnist and fashion_mnist: 60,000 train images; an unknown name counts as mnist-5k's 4,000.
    assert profiles.check_value("STUDENT_IMAGES", 60000, dataset="fashion_mnist") == 60000
    assert profiles.check_value("VALIDATION_SIZE", 59990, dataset="mnist") == 59990
    for dataset in (None, "mnist-5k", "no_such_dataset"):
        with pytest.raises(ValueError, match=r"in \[10, 4000\]; got 4001\. .*has 4,000 images"):
            profiles.check_value("STUDENT_IMAGES", 4001, dataset=dataset)
    with pytest.raises(ValueError) as refused:
        profiles.check_value("VALIDATION_SIZE", 59991, dataset="mnist")
    assert str(refused.value) == (
        "`VALIDATION_SIZE` must be an integer in [10, 59990]; got 59991. Both parts need "
        "every class (the mnist train split has 60,000 images)."
    )
    with pytest.raises(ValueError, match=r"\(0, 1\); got 1\.0 .* A float is the fraction"):
        profiles.check_value("VALIDATION_SIZE", 1.0)


@pytest.mark.parametrize(
    "student_images, validation_size, left",
    [
        (12, 800, None),  # 12 / 4,000 of the 3,200 left: round(9.6) = 10, enough
        (11, 800, 9),  # round(8.8) = 9
        (None, 3990, None),  # all 4,000: the 10 left after validation
        (10, 0.2, None),  # a fraction is not counted here
        (4000, 3991, 9),
    ],
)
def test_settings_that_leave_notebook_03_fewer_than_ten_images_are_refused(
    student_images, validation_size, left
):
    settings = {"dataset": "mnist-5k", "student_images": student_images}
    settings["validation_size"] = validation_size
    if left is None:
        assert profiles.check_together(settings) is None
        return
    with pytest.raises(ValueError) as refused:
        profiles.check_together(settings)
    assert str(refused.value).startswith(
        f"STUDENT_IMAGES={student_images} with VALIDATION_SIZE={validation_size} leaves "
        f"notebook 03's recipe comparison {left} images (the same share of the "
        f"{4000 - validation_size:,} images left after validation); it needs at least 10"
    )


def test_check_together_counts_the_images_of_the_settings_dataset():
    # fashion_mnist: 60,000 train images; 40 of them with 50,000 held out leave round(6.7).
    settings = {"dataset": "fashion_mnist", "student_images": 40, "validation_size": 50000}
    with pytest.raises(ValueError, match="recipe comparison 7 images"):
        profiles.check_together(settings)
    assert profiles.check_together({**settings, "student_images": 60}) is None  # 10 left
    # The dataset given wins over the settings' (a -p DATASET= run): 60,000 images, not 4,000.
    settings = {"dataset": "mnist-5k", "student_images": 60, "validation_size": 50000}
    with pytest.raises(ValueError, match="recipe comparison -690 images"):
        profiles.check_together(settings)
    assert profiles.check_together(settings, dataset="mnist") is None


def test_describe_lists_only_the_keys_asked_for_and_resolve_names_every_valid_setting():
    settings = {"a": 1, "long_name": "x", "b": [2]}
    assert profiles.describe(settings, keys=["b", "a"]) == "b = [2]\na = 1"
    with pytest.raises(ValueError) as refused:
        profiles.resolve("quick", epochs=3)
    assert str(refused.value).startswith(
        "Unknown setting(s) ['epochs']; valid settings: alpha, augment_rotation, augment_shift, "
        "baseline_fraction, batch_size,"
    )


# --- the results file: what a refused value is shown as ---------------------------------------


@pytest.mark.parametrize(
    "value, shown",
    [
        (True, "true (a boolean)"),
        ("x" * 38, '"' + "x" * 38 + '" (a string)'),  # 40 characters of JSON: shown whole
        ("x" * 39, '"' + "x" * 36 + "... (a string)"),  # 41: cut to 37 and "..."
        ([0.5] * 20, "[" + "0.5, " * 7 + "0... (a list)"),
    ],
)
def test_a_refused_result_is_shown_as_json_cut_to_forty_characters(tmp_path, value, shown):
    with pytest.raises(results.ResultsFileError) as refused:
        results.validate({"01_teacher_training": {"teacher_accuracy": value}}, "r.json")
    assert str(refused.value).startswith(
        f"r.json: 01_teacher_training.teacher_accuracy is {shown}; expected a fraction in [0, 1]."
    )


# --- -p values against the type a notebook declares -------------------------------------------


def _notebook(**declared):
    parameters = {
        name: {"type": kind, "default": default, "help": ""}
        for name, (kind, default) in declared.items()
    }
    return notebooks.Notebook("07", "07_x", Path("07_x.ipynb"), "X", parameters)


@pytest.mark.parametrize(
    "value, described",
    [
        (2.5, "2.5 (a float)"),
        ([1], "[1] (a list)"),
        (True, "True (a bool)"),
        ({"a": 1}, "{'a': 1} (dict)"),
    ],
)
def test_a_value_of_the_wrong_type_is_described_by_its_type(value, described):
    notebook = _notebook(EPOCHS=("int", "None"))
    with pytest.raises(notebooks.UsageError) as refused:
        notebooks.check_type(notebook, "EPOCHS", value, "EPOCHS=...")
    assert f"got {described}. For example:" in str(refused.value)
    with pytest.raises(notebooks.UsageError, match=r"got 3 \(an int\)\. For example: -p NAME=te"):
        notebooks.check_type(_notebook(NAME=("str", "None")), "NAME", 3, "NAME=3")


def test_a_float_parameter_takes_ints_and_a_bool_parameter_only_bools():
    notebook = _notebook(ALPHA=("float", "None"), VERBOSE=("bool", "False"))
    for value in (4, 0.5, None):
        notebooks.check_type(notebook, "ALPHA", value, "ALPHA=...")
    with pytest.raises(notebooks.UsageError, match=r"got True \(a bool\)"):
        notebooks.check_type(notebook, "ALPHA", True, "ALPHA=True")
    notebooks.check_type(notebook, "VERBOSE", True, "VERBOSE=True")
    for value in (1, 0, None):  # the default is False, not None: None does not fit
        with pytest.raises(
            notebooks.UsageError, match="VERBOSE takes True or False \\(notebook 07"
        ):
            notebooks.check_type(notebook, "VERBOSE", value, "VERBOSE=...")


@pytest.mark.parametrize(
    "stem", ["1_teacher", "001_teacher", "01_teacher.ipynb", "01_Teacher", "01_"]
)
def test_results_are_recorded_only_under_a_two_digit_snake_case_stem(tmp_path, stem):
    with pytest.raises(ValueError, match="notebook must be a notebook stem like"):
        results.record(tmp_path, stem, {"x": 1})
    assert not (tmp_path / "results.json").exists()
    assert results.record(tmp_path, "01_teacher_2", {"x": 1}).name == "results.json"


def test_a_list_parameter_is_checked_whatever_its_item_type_and_gets_a_profile_example():
    notebook = _notebook(WIDTHS=("list[int]", "None"), SWEEP_TEMPERATURES=("list", "None"))
    with pytest.raises(notebooks.UsageError, match=r"WIDTHS takes a list or None"):
        notebooks.check_type(notebook, "WIDTHS", 128, "WIDTHS=128")
    with pytest.raises(notebooks.UsageError) as refused:
        notebooks.check_type(notebook, "SWEEP_TEMPERATURES", 8.0, "SWEEP_TEMPERATURES=8.0")
    assert str(refused.value).endswith("For example: -p SWEEP_TEMPERATURES=[2.0,8.0].")
    with pytest.raises(notebooks.UsageError) as refused:  # not nullable: its own default
        notebooks.check_type(_notebook(SEED=("int", "0")), "SEED", None, "SEED=None")
    assert str(refused.value) == (
        "-p SEED=None: SEED takes an int (notebook 07 declares SEED: int = 0); got None. "
        "For example: -p SEED=0."
    )


def test_parse_parameter_turns_nested_tuples_into_lists_and_refuses_sets():
    assert notebooks.parse_parameter("D={'a': (1, 2)}") == ("D", {"a": [1, 2]})
    with pytest.raises(notebooks.UsageError) as refused:
        notebooks.parse_parameter("S={1, 2}")
    assert str(refused.value) == "-p values are numbers, strings, lists or dicts; got {1, 2}."
    with pytest.raises(notebooks.UsageError) as refused:
        notebooks.parse_parameter("EPOCHS")
    assert str(refused.value) == (
        "-p 'EPOCHS' is not NAME=VALUE. Examples: -p EPOCHS=3, -p SEEDS=5, "
        "-p SWEEP_TEMPERATURES=[2.0,8.0], -p TEACHER='\"hinton\"'."
    )


def test_only_takes_file_names_and_refuses_a_list_of_nothing():
    series = [
        notebooks.Notebook("01", "01_a", Path("01_a.ipynb"), "A", {}),
        notebooks.Notebook("03", "03_c", Path("03_c.ipynb"), "C", {}),
    ]
    assert notebooks.select(series, "03_c.ipynb, 1") == series  # in series order
    with pytest.raises(notebooks.UsageError, match=r"^--only ',' names no notebook"):
        notebooks.select(series, ",")
    with pytest.raises(notebooks.UsageError) as refused:
        notebooks.select([], None)
    assert str(refused.value) == "No numbered notebooks (NN_name.ipynb) found."


def test_image_limits_default_to_mnist_5k_and_say_so():
    with pytest.raises(ValueError, match="the mnist-5k train split has 4,000 images"):
        profiles.check_value("STUDENT_IMAGES", 4001)
    # An unknown dataset name counts as mnist-5k's 4,000 train images: 11 of them leave 9.
    unknown = {"dataset": "no_such_dataset", "student_images": 11, "validation_size": 800}
    with pytest.raises(ValueError, match="recipe comparison 9 images"):
        profiles.check_together(unknown)


# --- recording results -------------------------------------------------------------------------


def test_record_keeps_booleans_text_and_none_and_writes_indented_sorted_json(tmp_path):
    path = results.record(tmp_path, "01_a", {"z": True, "note": "text", "none": None, "n": [1]})
    assert results.load(tmp_path) == {"01_a": {"z": True, "note": "text", "none": None, "n": [1]}}
    assert path.read_text() == (
        '{\n  "01_a": {\n    "n": [\n      1\n    ],\n    "none": null,\n'
        '    "note": "text",\n    "z": true\n  }\n}\n'
    )


def test_record_names_the_entry_it_refuses_and_says_nothing_was_recorded(tmp_path):
    with pytest.raises(ValueError) as refused:
        results.record(tmp_path, "01_a", {"runs": [{"loss": [0.5, float("nan")]}]})
    assert str(refused.value) == (
        "results value 01_a.runs[0].loss[1] is nan; only finite numbers are recorded."
    )
    with pytest.raises(TypeError) as refused:
        results.record(tmp_path, "01_a", [("x", 1)])
    assert str(refused.value) == "values must be a dict of results; got list."
    with pytest.raises(results.ResultsFileError) as refused:
        results.record(tmp_path, "01_teacher_training", {"teacher_accuracy": 2})
    assert str(refused.value) == (
        f"{tmp_path / 'results.json'}: 01_teacher_training.teacher_accuracy is 2; expected a "
        "fraction in [0, 1]. Not recorded: change the value given to results.record."
    )
    with pytest.raises(results.ResultsFileError, match=r"^results\.json: the top level is \[\]"):
        results.validate([])


# --- check_output_folder: where a folder cannot be written ------------------------------------


def _refuse_writes(monkeypatch):
    """As on a read-only disk (the tests run as root, who may write anywhere)."""
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)


def test_a_new_folder_that_cannot_be_created_names_where_it_was_tried(tmp_path, monkeypatch):
    from kdtutor._checks import check_output_folder

    _refuse_writes(monkeypatch)
    wanted = tmp_path / "a" / "b"
    with pytest.raises(ValueError) as refused:
        check_output_folder(wanted, "--out")
    assert str(refused.value) == (
        f"--out {wanted} cannot be written: Permission denied (tried to create it in "
        f"{tmp_path}). Give a folder you can write to."
    )


def test_an_existing_folder_that_cannot_be_written_is_named_once(tmp_path, monkeypatch):
    from kdtutor._checks import check_output_folder

    _refuse_writes(monkeypatch)
    with pytest.raises(ValueError) as refused:
        check_output_folder(tmp_path, "--artifacts")
    assert str(refused.value) == (
        f"--artifacts {tmp_path} cannot be written: Permission denied. Give a folder you can "
        "write to."
    )


def test_a_writable_folder_is_returned_absolute_and_nothing_is_left_in_it(tmp_path, monkeypatch):
    from kdtutor._checks import check_output_folder

    monkeypatch.chdir(tmp_path)
    assert check_output_folder("new/site", "--out") == tmp_path / "new" / "site"
    assert list(tmp_path.iterdir()) == []  # neither the folder nor the write test's folder

"""Issue 18: every input handled, the right result or a clear error before anything runs.

Labels outside the model's classes wherever an accuracy or a confusion matrix is counted;
`kdtutor run -p` values and folders that a notebook would refuse only minutes later; paths
with `~`; one place for each rule (`kdtutor._checks`, `kdtutor.series.profiles.RULES`).
"""

import json
import re
import shutil
import types

import keras
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from kdtutor import plots, training  # noqa: E402
from kdtutor.data import Dataset  # noqa: E402
from kdtutor.series import artifacts, cli, notebooks, profiles, run_summary, runner  # noqa: E402

NAMES = [str(digit) for digit in range(10)]


def _labels(count: int = 32) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 10, size=count)


def _student(num_classes: int = 10) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(num_classes)]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _x(count: int = 32) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(count, 8, 8)).astype("float32")


# --- labels where an accuracy or a confusion matrix is counted --------------------------------


def _with(labels, index, value):
    labels = labels.astype(float if isinstance(value, float) else labels.dtype).copy()
    labels[index] = value
    return labels


BAD_LABELS = [  # (value put at index 3, what the message must say)
    (-1, r"\[3\] is -1"),
    (10, r"\[3\] is 10"),
    (3.5, r"\[3\] is 3\.5.*not a whole number"),
    (float("nan"), r"\[3\] is nan"),
]


@pytest.mark.parametrize("value, said", BAD_LABELS)
def test_confusion_matrix_refuses_labels_outside_the_classes(value, said):
    y = _labels()
    with pytest.raises(ValueError, match=r"`y_true`.*\[0, 10\).*" + said):
        plots.confusion_matrix(_with(y, 3, value), y, NAMES)
    with pytest.raises(ValueError, match=r"`y_pred`.*\[0, 10\).*" + said):
        plots.confusion_matrix(y, _with(y, 3, value), NAMES)


def test_confusion_matrix_counts_scores_as_their_argmax_and_takes_n_by_1_labels():
    y_true = _labels(64)
    logits = np.random.default_rng(2).normal(size=(64, 10))
    figure = plots.confusion_matrix(y_true[:, None], logits, NAMES)
    expected = sum(int(t == int(np.argmax(row))) for t, row in zip(y_true, logits, strict=True))
    assert figure.axes[0].get_title() == f"accuracy {expected / 64:.2%}"


@pytest.mark.parametrize("value, said", BAD_LABELS)
def test_hardest_examples_image_grid_and_class_counts_refuse_bad_labels(value, said):
    y, images = _labels(), np.zeros((32, 28, 28, 1), "float32")
    bad = _with(y, 3, value)
    probabilities = np.full((32, 10), 0.1)
    with pytest.raises(ValueError, match=r"`y_true`.*\[0, 10\).*" + said):
        plots.hardest_examples(images, bad, probabilities, NAMES, count=4)
    with pytest.raises(ValueError, match=r"`labels`.*\[0, 10\).*" + said):
        plots.image_grid(images, bad, NAMES, rows=1, cols=4)
    with pytest.raises(ValueError, match=r"`y_train`.*\[0, 10\).*" + said):
        plots.class_counts(bad, y, NAMES)
    with pytest.raises(ValueError, match=r"`y_test`.*\[0, 10\).*" + said):
        plots.class_counts(y, bad, NAMES)


def test_tflite_accuracy_refuses_labels_outside_the_classes_and_reads_whole_floats():
    from kdtutor.litert import tflite_accuracy, tflite_predict, to_tflite

    x, model = _x(), _student()
    tflite = to_tflite(model)
    predicted = tflite_predict(tflite, x).argmax(axis=1)
    truth = predicted.copy()
    truth[:8] = (truth[:8] + 1) % 10  # 8 of 32 wrong
    assert tflite_accuracy(tflite, x, truth.astype(float)) == pytest.approx(24 / 32)
    assert tflite_accuracy(tflite, x, np.eye(10)[truth]) == pytest.approx(24 / 32)
    for value, said in BAD_LABELS:
        with pytest.raises(ValueError, match=r"`y`.*\[0, 10\).*" + said):
            tflite_accuracy(tflite, x, _with(truth, 3, value))


def _right_by_hand(model, x, ids):
    return np.asarray(model(x, training=False)).argmax(axis=1) == ids


@pytest.mark.parametrize("shape", ["(N, 1)", "one-hot"])
def test_correct_at_epochs_takes_every_label_shape_keras_takes(shape):
    x, y = _x(), _labels()
    labels = y[:, None] if shape == "(N, 1)" else np.eye(10, dtype="float32")[y]
    model = _student()
    record = training.CorrectAtEpochs(x, labels, [1])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[record])
    assert record.right[1].shape == (32,)
    np.testing.assert_array_equal(record.right[1], _right_by_hand(model, x, y))


@pytest.mark.parametrize("value, said", BAD_LABELS)
def test_correct_at_epochs_refuses_bad_labels_before_the_first_step(value, said):
    x, y = _x(), _labels()
    model = _student()
    before = [weight.copy() for weight in model.get_weights()]
    record = training.CorrectAtEpochs(x, _with(y, 3, value), [1])
    with pytest.raises(ValueError, match=r"`y`.*\[0, 10\).*" + said):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[record])
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)  # not one training step


def test_correct_at_epochs_refuses_epochs_that_never_come():
    with pytest.raises(ValueError, match="`epochs` must be an integer >= 1; got 0"):
        training.CorrectAtEpochs(_x(), _labels(), [0, 2])


# --- one validator per rule --------------------------------------------------------------------


def test_numpy_numbers_are_numbers_for_the_model_builders():
    from kdtutor import make_student, make_teacher

    student = make_student(num_classes=np.int64(3), dropout=np.float32(0.25))
    assert student.output_shape == (None, 3)
    assert make_teacher(num_classes=np.int32(4), dropout=np.float32(0.5)).output_shape == (
        None,
        4,
    )


def test_the_dead_epoch_timer_is_gone():
    assert not hasattr(training, "EpochTimes") and "EpochTimes" not in training.__all__


@pytest.fixture(scope="module")
def tiny_data():
    images = np.random.default_rng(0).random((20, 28, 28, 1), dtype=np.float32)
    labels = np.arange(20, dtype=np.int64) % 10
    return Dataset(images, labels, images[:10], labels[:10], "tiny", "test", tuple(NAMES))


def test_the_teacher_cache_takes_train_teacher_s_own_defaults(tiny_data, tmp_path, monkeypatch):
    calls = []

    def train_teacher(
        data, *, architecture="cnn", epochs=3, batch_size=16, learning_rate=0.01, seed=0, verbose=0
    ):
        calls.append(dict(architecture=architecture, epochs=epochs, batch_size=batch_size,
                          learning_rate=learning_rate, seed=seed))  # fmt: skip
        return _student(), None

    monkeypatch.setattr(artifacts, "train_teacher", train_teacher)
    _, info = artifacts.load_or_train_teacher(tiny_data, cache_dir=tmp_path, seed=2)
    assert calls == [dict(architecture="cnn", epochs=3, batch_size=16, learning_rate=0.01, seed=2)]
    assert info["path"].endswith("teacher_tiny_cnn_e3_b16_lr0.01_s2.keras")
    with pytest.raises(TypeError, match="epoch.*architecture, epochs, batch_size"):
        artifacts.load_or_train_teacher(tiny_data, cache_dir=tmp_path, epoch=3)


# --- kdtutor run: -p values the notebooks cannot use -------------------------------------------

BAD_PARAMETERS = [  # (--only, -p, what the message says: the name, the value, the range)
    ("03", "SEEDS=1", "`SEEDS` must be an integer >= 2; got 1."),
    ("03", "SEEDS=0", "`SEEDS` must be an integer >= 2; got 0."),
    ("03", "SWEEP_SEEDS=1", "`SWEEP_SEEDS` must be an integer >= 2; got 1."),
    ("05", "LABEL_FRACTION_SEEDS=1", "`LABEL_FRACTION_SEEDS` must be an integer >= 2; got 1."),
    ("03", "STUDENT_EPOCHS=-1", "`STUDENT_EPOCHS` must be an integer >= 1; got -1."),
    ("01", "TEACHER_EPOCHS=0", "`TEACHER_EPOCHS` must be an integer >= 1; got 0."),
    ("03", "TEMPERATURE=0", "`TEMPERATURE` must be a number in [0.01, 100]; got 0"),
    ("03", "TEMPERATURE=1000", "`TEMPERATURE` must be a number in [0.01, 100]; got 1000"),
    ("03", "TEMPERATURE=-4.0", "`TEMPERATURE` must be a number in [0.01, 100]; got -4.0"),
    ("03", "ALPHA=2", "`ALPHA` must be a number in [0, 1]; got 2"),
    ("03", "ALPHA=-0.5", "`ALPHA` must be a number in [0, 1]; got -0.5"),
    ("03", "BATCH_SIZE=0", "`BATCH_SIZE` must be an integer >= 1; got 0."),
    ("03", "STUDENT_HIDDEN=[0]", "`STUDENT_HIDDEN` must hold positive integers"),
    ("03", "STUDENT_HIDDEN=[]", "`STUDENT_HIDDEN` must be a non-empty sequence"),
    ("03", "STUDENT_IMAGES=5", "`STUDENT_IMAGES` must be an integer in [10, 4000]; got 5."),
    ("03", "STUDENT_IMAGES=4001", "`STUDENT_IMAGES` must be an integer in [10, 4000]; got 4001."),
    ("03", "SWEEP_TEMPERATURES=[2.0, 0]", "`SWEEP_TEMPERATURES[1]` must be a number in [0.01"),
    ("03", "SWEEP_ALPHAS=[1.5]", "`SWEEP_ALPHAS[0]` must be a number in [0, 1]; got 1.5"),
    ("03", "VALIDATION_SIZE=3995", "`VALIDATION_SIZE` must be an integer in [10, 3990]"),
    ("04", "PRUNE_SPARSITY=1.0", "`PRUNE_SPARSITY` must be a number in [0, 1); got 1.0"),
    ("05", "LABEL_FRACTIONS=[0.0, 1.0]", "`LABEL_FRACTIONS[0]` must be a number in (0, 1]"),
    ("05", "OMITTED_DIGIT=10", "`OMITTED_DIGIT` must be an integer in [0, 9]; got 10."),
    ("01", "SEED=-1", "`SEED` must be an integer in [0, 4294967295]; got -1."),
]


@pytest.mark.parametrize("only, parameter, said", BAD_PARAMETERS)
def test_run_refuses_values_out_of_range_at_once(only, parameter, said, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "execute", lambda *a, **k: pytest.fail("a notebook ran"))
    with pytest.raises(runner.UsageError) as error:
        runner.plan_run(only=only, parameters=[parameter], out=tmp_path / "out")
    assert str(error.value).startswith(f"-p {parameter}: ") and said in str(error.value)


def test_the_command_exits_2_with_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "execute", lambda *a, **k: pytest.fail("a notebook ran"))
    out = tmp_path / "out"
    assert cli.main(["run", "--only", "03", "-p", "SEEDS=1", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("kdtutor run: error: -p SEEDS=1: `SEEDS` must be an integer >= 2")
    assert len(error.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize(
    "inside, outside",
    [
        ("SEEDS=2", "SEEDS=1"),
        ("SEEDS=None", "SEEDS=-3"),  # None: the profile's value
        ("TEMPERATURE=100", "TEMPERATURE=100.5"),
        ("TEMPERATURE=0.01", "TEMPERATURE=0.0"),
        ("ALPHA=0", "ALPHA=-0.01"),
        ("ALPHA=1", "ALPHA=1.01"),
        ("STUDENT_IMAGES=13", "STUDENT_IMAGES=9"),  # 10-12: see the test of settings together
        ("STUDENT_IMAGES=4000", "STUDENT_IMAGES=4001"),
        ("BATCH_SIZE=1", "BATCH_SIZE=0"),
        ("VALIDATION_SIZE=3960", "VALIDATION_SIZE=3991"),  # 3961-3990: see settings together
    ],
)
def test_the_ends_of_each_range_are_where_the_notebooks_say(inside, outside, tmp_path):
    plan = runner.plan_run(only="03", parameters=[inside], out=tmp_path / "out")
    assert plan.parameters == dict([notebooks.parse_parameter(inside)])
    with pytest.raises(runner.UsageError, match=f"-p {re.escape(outside)}: `"):
        runner.plan_run(only="03", parameters=[outside], out=tmp_path / "out")


def test_images_are_counted_in_the_chosen_dataset(tmp_path):
    plan = runner.plan_run(
        only="03",
        dataset="mnist",
        allow_download=True,
        parameters=["STUDENT_IMAGES=30000"],
        out=tmp_path / "out",
    )
    assert plan.parameters == {"STUDENT_IMAGES": 30000}
    with pytest.raises(runner.UsageError, match=r"in \[10, 60000\]; got 60001"):
        runner.plan_run(
            only="03",
            dataset="mnist",
            allow_download=True,
            parameters=["STUDENT_IMAGES=60001"],
            out=tmp_path / "out",
        )


def test_the_ranges_hold_every_profile_and_agree_with_the_package():
    from kdtutor import load_dataset
    from kdtutor.data import TRAIN_IMAGES
    from kdtutor.distill import MAX_TEMPERATURE, MIN_TEMPERATURE

    for settings in profiles.PROFILES.values():
        for name, value in settings.items():
            profiles.check_value(name.upper(), value, dataset=settings["dataset"])
    assert profiles.MAX_TEMPERATURE == MAX_TEMPERATURE
    assert profiles.MIN_TEMPERATURE == MIN_TEMPERATURE
    from kdtutor.training import TEACHER_ARCHITECTURES

    assert set(profiles.TEACHERS) == set(TEACHER_ARCHITECTURES)
    assert TRAIN_IMAGES["mnist-5k"] == len(load_dataset("mnist-5k").y_train)
    # every numeric parameter of every notebook has a range
    for notebook in notebooks.discover():
        for name, declared in notebook.parameters.items():
            if (declared["type"] or "").split("[")[0] in ("int", "float", "list"):
                assert name.lower() in profiles.RULES, (notebook.stem, name)


@pytest.mark.parametrize("only, parameter, said", BAD_PARAMETERS[:12])
def test_a_notebook_run_directly_refuses_the_same_values_in_its_setup_cell(
    only, parameter, said, tmp_path
):
    from kdtutor.series import setup

    name, value = notebooks.parse_parameter(parameter)
    with pytest.raises(runner.UsageError) as from_the_command:
        runner.plan_run(only=only, parameters=[parameter], out=tmp_path / "out")
    namespace = {"PROFILE": "quick", name: value, "RESULTS_DIR": str(tmp_path / "r")}
    with pytest.raises(ValueError) as from_the_notebook:
        setup.start("03_distilling_the_student", namespace, quiet=True)
    assert str(from_the_command.value) == f"-p {parameter}: {from_the_notebook.value}"
    assert said in str(from_the_notebook.value)


# --- folders that cannot be written ------------------------------------------------------------


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "afile"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize(
    "option, folder, said",
    [
        ("--out", "/proc/nope", "--out /proc/nope cannot be written"),
        ("--out", "{file}/sub", "--out {file}/sub cannot be created: {file} is a file"),
        ("--artifacts", "/proc/nope", "--artifacts /proc/nope cannot be written"),
        ("--artifacts", "{file}", "--artifacts {file} exists and is not a folder"),
        ("--artifacts", "{file}/sub", "--artifacts {file}/sub cannot be created"),
    ],
)
def test_run_refuses_folders_it_cannot_write(
    option, folder, said, a_file, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(runner, "execute", lambda *a, **k: pytest.fail("a notebook ran"))
    arguments = ["run", "--only", "02", "--out", str(tmp_path / "out")]
    arguments += [option, folder.format(file=a_file)]
    assert cli.main(arguments) == 2
    error = capsys.readouterr().err
    assert error.startswith("kdtutor run: error: ") and len(error.strip().splitlines()) == 1
    assert said.format(file=a_file) in error


@pytest.mark.parametrize(
    "folder, said",
    [
        ("/proc/nope", "/proc/nope cannot be written"),
        ("{file}/sub", "{file}/sub cannot be created: {file} is a file"),
    ],
)
def test_handout_refuses_folders_it_cannot_write(folder, said, a_file, capsys):
    assert cli.main(["handout", folder.format(file=a_file), "--no-artifacts"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("kdtutor handout: error: ") and len(error.strip().splitlines()) == 1
    assert said.format(file=a_file) in error


# --- paths a user types ------------------------------------------------------------------------


def test_run_expands_the_home_folder_like_a_shell(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "nb").mkdir()
    shutil.copy(notebooks.NOTEBOOKS_DIR / "01_teacher_training.ipynb", tmp_path / "nb")
    plan = runner.plan_run(only="01", out="~/kdx", artifacts="~/art", notebooks_dir="~/nb")
    assert plan.out_dir == tmp_path / "kdx" and plan.artifacts_dir == tmp_path / "art"
    assert plan.notebooks[0].path == tmp_path / "nb" / "01_teacher_training.ipynb"
    assert plan.injected["01_teacher_training"]["RESULTS_DIR"] == str(tmp_path / "kdx")


# --- the summary of a run that checked no claim ------------------------------------------------


def test_a_run_that_completed_no_notebook_does_not_claim_0_of_0(tmp_path, capsys):
    plan = types.SimpleNamespace(
        parameters={}, dataset="mnist-5k", profile="quick", out_dir=tmp_path
    )
    run = {"notebooks": {"01_teacher_training": {"status": "failed"}}}
    outcome = types.SimpleNamespace(run=run)
    assert run_summary.check_claims(plan, outcome) == []
    printed = capsys.readouterr().out
    assert "0 of 0" not in printed and "Claims:   none checked (no notebook completed)" in printed
    assert json.loads((tmp_path / "results.json").read_text())["_run"]["claims"]["total"] == 0


def test_an_unknown_teacher_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(runner.UsageError, match=r"TEACHER.*one of 'cnn', 'hinton'; got 'foo'"):
        runner.plan_run(only="01", parameters=["TEACHER=foo"], out=tmp_path / "out")


def test_a_validation_size_out_of_range_is_not_told_to_use_a_fraction(tmp_path):
    with pytest.raises(runner.UsageError) as error:
        runner.plan_run(only="03", parameters=["VALIDATION_SIZE=3991"], out=tmp_path / "out")
    assert "VALIDATION_SIZE" in str(error.value) and "fraction" not in str(error.value)


def test_the_scratch_student_takes_one_hot_labels_as_class_ids():
    from kdtutor.training import train_scratch_student

    rng = np.random.default_rng(0)
    x = rng.random((32, 28, 28, 1), dtype=np.float32)
    y = np.arange(32) % 10
    ids, _ = train_scratch_student(x, y, epochs=1, seed=3)
    one_hot, _ = train_scratch_student(x, np.eye(10)[y], epochs=1, seed=3)
    for a, b in zip(ids.get_weights(), one_hot.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    with pytest.raises(ValueError, match=r"y\[0\] is -1"):
        train_scratch_student(x, np.where(y == 0, -1, y), epochs=1)


@pytest.mark.parametrize("value", ["1e-300", "0.005"])
def test_temperatures_below_the_package_minimum_are_refused_up_front(tmp_path, value):
    with pytest.raises(runner.UsageError, match=r"TEMPERATURE.*\[0.01, 100\]"):
        runner.plan_run(only="03", parameters=[f"TEMPERATURE={value}"], out=tmp_path / "out")


def test_the_plots_refuse_what_they_would_draw_wrong():
    import matplotlib

    matplotlib.use("Agg")
    from kdtutor import plots

    names = ["a", "b", "c"]
    images = np.zeros((4, 8, 8, 1), np.float32)
    labels = np.array([0, 1, 2, 1])
    logits = np.array([[5.0, -1, 0], [0, 4, 1], [2, 0, -3], [0, 1, 6]])
    with pytest.raises(ValueError, match="look like logits.*softmax"):
        plots.hardest_examples(images, labels, logits, names, count=2)
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    for count in (0, 5):
        with pytest.raises(ValueError, match=r"`count` must be an integer in \[1, 4\]"):
            plots.hardest_examples(images, labels, probabilities, names, count=count)
    with pytest.raises(ValueError, match="no examples"):
        plots.confusion_matrix(labels[:0], labels[:0], names)
    with pytest.raises(ValueError, match=r"History of at least one epoch.*\['acc'\]"):
        plots.training_curves({"loss": [1.0]}, keys=["acc"])
    with pytest.raises(ValueError, match="History of at least one epoch"):
        plots.training_curves({})
    with pytest.raises(ValueError, match=r"`highlight` must be an integer in \[0, 2\]"):
        plots.soft_targets({1: [0.5, 0.5, 0.0]}, names, highlight=5)


def test_a_list_parameter_of_the_wrong_type_gets_an_example_it_accepts(tmp_path):
    with pytest.raises(runner.UsageError, match=r"For example: -p STUDENT_HIDDEN=\[128\]\."):
        runner.plan_run(only="03", parameters=["STUDENT_HIDDEN=128"], out=tmp_path / "out")


def test_the_recipes_check_their_arguments_like_the_models():
    from kdtutor import training

    assert training.build_student(16, num_classes=3).layers[-2].units == 16
    x = np.zeros((8, 28, 28, 1), np.float32)
    teacher = training.build_teacher("cnn", num_classes=10)
    with pytest.raises(ValueError, match=r"targets\[0\] is 20"):
        training.train_distilled_student(x, np.arange(8) + 20, teacher, epochs=1)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_int8_calibration_data_must_be_finite(value):
    import keras

    from kdtutor import litert

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    data = np.full((10, 4), value, np.float32)
    with pytest.raises(ValueError, match="NaN, infinite or huge"):
        litert.to_tflite(model, quantization="int8", representative_data=data)
    with pytest.raises(ValueError, match="array of model inputs.*generator"):
        litert.to_tflite(model, quantization="int8", representative_data=(row for row in data))


def test_the_setup_call_refuses_a_stem_record_would_refuse_and_expands_home(tmp_path, monkeypatch):
    from kdtutor.series import setup

    with pytest.raises(ValueError, match="two digits then snake case"):
        setup.start("my_notebook", {}, quiet=True)
    monkeypatch.setenv("HOME", str(tmp_path))
    run = setup.start("06_mine", {"RESULTS_DIR": "~/res", "SEED": None}, quiet=True)
    assert run.seed == 0 and run.record({"a": 1}) == tmp_path / "res" / "results.json"


def test_a_hand_edited_nan_in_the_results_file_is_refused(tmp_path):
    from kdtutor.series import results

    (tmp_path / "results.json").write_text('{"01_teacher_training": {"teacher_accuracy": NaN}}')
    with pytest.raises(results.ResultsFileError, match="not valid JSON.*NaN"):
        results.load(tmp_path)


@pytest.mark.parametrize(
    "parameters", [["STUDENT_IMAGES=10"], ["VALIDATION_SIZE=3990"], ["STUDENT_IMAGES=12"]]
)
def test_settings_notebook_03_cannot_use_together_are_refused_up_front(tmp_path, parameters):
    # 03 compares recipes on the same share of the images left after validation: 10 of the
    # 4,000 with 800 held out leave 8; 12 leave round(9.6) = 10, which is enough.
    if parameters == ["STUDENT_IMAGES=12"]:
        runner.plan_run(only="03", parameters=parameters, out=tmp_path / "out")
        return
    with pytest.raises(runner.UsageError, match=r"leaves notebook 03's recipe comparison \d "):
        runner.plan_run(only="03", parameters=parameters, out=tmp_path / "out")


def test_calibration_data_must_be_an_array_in_range():
    import keras
    import tensorflow as tf

    from kdtutor import litert

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    dataset = tf.data.Dataset.from_tensor_slices(np.zeros((10, 4), np.float32)).batch(5)
    with pytest.raises(ValueError, match="array of model inputs"):
        litert.to_tflite(model, quantization="int8", representative_data=dataset)
    huge = np.r_[np.full((5, 4), -3e38, np.float32), np.full((5, 4), 3e38, np.float32)]
    with pytest.raises(ValueError, match="huge"):
        litert.to_tflite(model, quantization="int8", representative_data=huge)


def test_widths_as_an_array_and_labels_as_a_list_are_taken():
    from kdtutor import training

    assert training.build_student(np.array([16, 8]), num_classes=3).count_params() > 0
    x, y = np.zeros((8, 28, 28, 1), np.float32), list(range(8))
    teacher = training.build_teacher("cnn", num_classes=10)
    distiller, _ = training.train_distilled_student(x, y, teacher, epochs=1, batch_size=8)
    assert distiller.student.built


def test_the_setup_call_refuses_odd_stems_and_no_cache_folder():
    from pathlib import Path

    from kdtutor.series import setup

    for stem in (Path("06_x"), "06_x\n"):
        with pytest.raises(ValueError, match="two digits then snake case"):
            setup.start(stem, {}, quiet=True)
    with pytest.raises(ValueError, match="ARTIFACTS_DIR must name the folder"):
        setup.start("06_x", {"ARTIFACTS_DIR": None, "RESULTS_DIR": None}, quiet=True)

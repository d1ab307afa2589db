"""The prose's claims (notebooks/claims.json): the file, the checker, and the committed runs."""

import json
from pathlib import Path

import pytest

from kdtutor.series import claims, results

ROOT = Path(__file__).resolve().parent.parent
COMMITTED_RUNS = {profile: ROOT / "docs" / "results" / profile for profile in ("quick", "full")}


def write(tmp_path, data):
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(data))
    return path


def test_every_claim_belongs_to_a_notebook_and_a_profile():
    stems = {path.stem for path in (ROOT / "notebooks").glob("0*.ipynb")}
    loaded = claims.load()
    assert loaded, "notebooks/claims.json holds no claims"
    for claim in loaded:
        assert claim.notebook in stems, claim
        assert set(claim.profiles) <= {"quick", "full"} and claim.profiles, claim
        assert claim.text.strip(), claim


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_the_committed_runs_hold_every_claim_made_for_them(profile):
    # The committed notebooks (quick) and the committed full-profile run are what a learner
    # reads: every claim their prose makes must hold in their own results.
    recorded = results.load(COMMITTED_RUNS[profile])
    outcomes = claims.check(recorded, profile)
    assert outcomes, f"no claims checked against the committed {profile} run"
    failed = [f"{o.claim.notebook}: {o.claim.text} -> {o.detail}" for o in outcomes if not o.holds]
    assert not failed, "\n".join(failed)


def test_a_false_claim_and_a_missing_name_are_reported(tmp_path):
    quick, full = ["quick"], ["full"]
    path = write(tmp_path, {
        "03_x": [
            {"claim": "gain is real", "check": "verdict == 'a real gain'", "profiles": quick},
            {"claim": "first largest", "check": "gains[0] > max(gains[1:])", "profiles": quick},
            {"claim": "renamed", "check": "old_name > 0", "profiles": quick},
            {"claim": "full only", "check": "1 > 2", "profiles": full},
        ]
    })  # fmt: skip
    recorded = {"03_x": {"verdict": "within the noise", "gains": [3.0, 1.0, 2.0]}}
    outcomes = claims.check(recorded, "quick", claims=claims.load(path))
    assert [o.holds for o in outcomes] == [False, True, None]
    assert outcomes[0].detail == "false: verdict == 'a real gain'"
    assert outcomes[2].detail == "03_x recorded no 'old_name'"
    assert claims.check(recorded, "full", claims=claims.load(path))[0].holds is False


def test_only_the_named_notebooks_are_checked(tmp_path):
    path = write(
        tmp_path,
        {
            "01_a": [{"claim": "c", "check": "x > 0", "profiles": ["quick"]}],
            "02_b": [{"claim": "d", "check": "y > 0", "profiles": ["quick"]}],
        },
    )
    outcomes = claims.check(
        {"01_a": {"x": 1}}, "quick", notebooks=["01_a"], claims=claims.load(path)
    )
    assert [(o.claim.notebook, o.holds) for o in outcomes] == [("01_a", True)]


@pytest.mark.parametrize(
    "check, message",
    [
        ("__import__('os').system('true')", "may not use"),
        ("x.real > 0", "may not use 'x.real'"),
        ("open('f')", "may not use"),
        ("x >", "is not an expression"),
        ("[y for y in x]", "may not use"),
    ],
)
def test_a_check_outside_the_small_language_is_refused_when_loaded(tmp_path, check, message):
    path = write(tmp_path, {"01_a": [{"claim": "c", "check": check, "profiles": ["quick"]}]})
    with pytest.raises(claims.ClaimsFileError, match=message):
        claims.load(path)


def test_a_malformed_entry_names_where_it_is(tmp_path):
    path = write(tmp_path, {"01_a": [{"claim": "c", "check": "x > 0"}]})
    with pytest.raises(claims.ClaimsFileError, match=r"01_a\[0\]: expected an object with"):
        claims.load(path)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(claims.ClaimsFileError, match="cannot read the claims file"):
        claims.load(tmp_path / "bad.json")


def test_kdtutor_run_checks_the_claims_of_a_profile_run_and_fails_on_a_false_one(
    tmp_path, monkeypatch, capsys
):
    from types import SimpleNamespace

    from kdtutor.series import run_summary

    monkeypatch.setattr(claims, "CLAIMS_FILE", write(tmp_path, {"01_a": [
        {"claim": "accurate", "check": "teacher_accuracy > 0.9", "profiles": ["quick"]},
        {"claim": "small", "check": "teacher_params < 10", "profiles": ["quick"]},
    ]}))  # fmt: skip
    out = tmp_path / "run"
    results.record(out, "01_a", {"teacher_accuracy": 0.95, "teacher_params": 225034})
    outcome = SimpleNamespace(run={"status": "ok", "notebooks": {"01_a": {"status": "ok"}}})
    plan = SimpleNamespace(parameters={}, dataset="mnist-5k", profile="quick", out_dir=out)
    checked = run_summary.check_claims(plan, outcome)
    assert [item.holds for item in checked] == [True, False]
    printed = capsys.readouterr().out
    assert "Claims:   1 of 2 hold" in printed and "FAILS   01_a: small" in printed
    stored = results.load(out)["_run"]["claims"]
    assert stored["checked"] and stored["total"] == 2 and stored["failed"][0]["claim"] == "small"
    # With -p overrides the run is not what the prose describes: listed as not checked.
    plan.parameters = {"TEACHER_EPOCHS": 1}
    assert run_summary.check_claims(plan, outcome) == []
    assert "not checked (the run has -p overrides" in capsys.readouterr().out


def test_the_committed_runs_follow_the_results_schema():
    # The schema as any tool reads it (jsonschema itself), and the file kdtutor report reads.
    import jsonschema

    schema = json.loads(results.SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for folder in COMMITTED_RUNS.values():
        committed = json.loads((folder / "results.json").read_text())
        jsonschema.validate(committed, schema, cls=jsonschema.Draft202012Validator)
    damaged = {"03_distilling_the_student": {"student_kd_accuracy": [0.9, 93.1]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(damaged, schema, cls=jsonschema.Draft202012Validator)


def _outcomes(checks, recorded, **given):
    """Check each of ``checks`` (one claim of notebook 01_a each) against ``recorded``."""
    made = [claims.Claim("01_a", f"claim {i}", check, ("quick",)) for i, check in enumerate(checks)]
    return claims.check({"01_a": recorded}, "quick", claims=made, **given)


def test_a_check_may_use_lists_and_or_not_negation_and_names_as_indices():
    recorded = {"verdict": "a real loss", "a": 1, "b": -1, "gains": [3.0, 1.0], "best": 0}
    checks = {
        "verdict in ['a real gain', 'a real loss']": True,
        "a > 0 and b > 0": False,
        "a > 0 or b > 0": True,
        "b > 0 or a < 0": False,
        "-a < 0": True,
        "not b > 0": True,
        "gains[best] == max(gains)": True,
        "gains[best:] == gains": True,
        "0 < a < 2 < 3": True,
        "0 < a < b": False,
        "a < 1 or a > 1": False,  # the comparisons are strict
        "a <= 1 and a >= 1": True,
    }
    outcomes = _outcomes(list(checks), recorded)
    assert {o.claim.check: o.holds for o in outcomes} == checks
    assert [o.detail for o in outcomes[:2]] == ["holds", "false: a > 0 and b > 0"]


def test_claims_that_cannot_be_checked_say_why_and_the_rest_are_still_checked():
    made = [
        claims.Claim("02_b", "not run", "y > 0", ("quick",)),
        claims.Claim("01_a", "renamed", "old_name > 0", ("quick",)),
        claims.Claim("01_a", "too few", "gains[5] > 0", ("quick",)),
        claims.Claim("01_a", "divides", "x / zero > 0", ("quick",)),
        claims.Claim("03_c", "not named", "x > 0", ("quick",)),
        claims.Claim("01_a", "true", "x > 0", ("quick",)),
    ]
    recorded = {"01_a": {"x": 1, "zero": 0, "gains": [1.0]}, "03_c": {"x": 1}}
    outcomes = claims.check(recorded, "quick", notebooks=["01_a", "02_b"], claims=made)
    assert [(o.claim.text, o.holds, o.detail) for o in outcomes] == [
        ("not run", None, "02_b recorded no results"),
        ("renamed", None, "01_a recorded no 'old_name'"),
        ("too few", None, "the check failed: list index out of range"),
        ("divides", None, "the check failed: division by zero"),
        ("true", True, "holds"),
    ]


@pytest.mark.parametrize(
    "check, shown", [("x.real > 0", "'x.real'"), ("open('f')", "\"open('f')\"")]
)
def test_a_check_given_directly_is_refused_by_the_evaluator_too(check, shown):
    # claims.check(claims=...) takes claims that claims.load never parsed.
    (outcome,) = _outcomes([check], {"x": 1})
    assert outcome.holds is None
    assert outcome.detail == (
        f"the check failed: a check may not use {shown} (see kdtutor.series.claims)"
    )


def test_the_claims_file_errors_name_the_entry_and_what_is_allowed(tmp_path):
    with pytest.raises(
        claims.ClaimsFileError, match=r"claims.json: expected an object of notebook stems, got \["
    ):
        claims.load(write(tmp_path, [1, 2]))
    path = write(tmp_path, {"01_a": [{"claim": "c", "check": "x >", "profiles": ["quick"]}]})
    with pytest.raises(
        claims.ClaimsFileError, match=r"^claims.json: 01_a\[0\]: the check 'x >' is"
    ):
        claims.load(path)
    path = write(tmp_path, {"01_a": [{"claim": "c", "check": "x.y", "profiles": ["quick"]}]})
    allowed = (
        "claims.json: 01_a[0]: a check may not use 'x.y'; allowed: names, numbers, strings, "
        "comparisons, and/or/not, arithmetic, indexing and abs, min, max, len, all, any, sum"
    )
    with pytest.raises(claims.ClaimsFileError) as refused:
        claims.load(path)
    assert str(refused.value) == allowed


def test_an_operator_the_language_lacks_is_named_in_the_refusal(tmp_path):
    for check, shown in (("x not in [1]", "not in"), ("x is None", "is")):
        path = write(tmp_path, {"01_a": [{"claim": "c", "check": check, "profiles": ["quick"]}]})
        with pytest.raises(claims.ClaimsFileError, match=f"may not use '{shown}'; allowed"):
            claims.load(path)


def test_a_notebook_with_one_claim_may_give_it_without_a_list(tmp_path):
    path = write(tmp_path, {"01_a": {"claim": "c", "check": "x > 0", "profiles": ["quick"]}})
    assert claims.load(path) == [claims.Claim("01_a", "c", "x > 0", ("quick",))]


def test_every_construct_of_the_small_language_passes_the_load_time_check(tmp_path):
    checks = [
        "a > 0 or not b",
        "-a < abs(b) - 2 or a in (1, 2)",
        "gains[1:] == [1.0, 2.0] and gains[0] != 0",
        "sum(gains) / len(gains) * 2 - 1 >= min(gains) + max(gains)",
        "all(gains) and any([b])",
    ]
    path = write(
        tmp_path, {"01_a": [{"claim": c, "check": c, "profiles": ["quick"]} for c in checks]}
    )
    loaded = claims.load(path)
    assert [claim.check for claim in loaded] == checks
    recorded = {"a": 1, "b": 0, "gains": [3.0, 1.0, 2.0]}
    outcomes = claims.check({"01_a": recorded}, "quick", claims=loaded)
    # by hand: 1 > 0; -1 < -2 is false but 1 is in (1, 2); [1.0, 2.0] == [1.0, 2.0];
    # 6 / 3 * 2 - 1 = 3 >= 1 + 3 is false; all nonzero, but any([0]) is false
    assert [o.holds for o in outcomes] == [True, True, True, False, False]

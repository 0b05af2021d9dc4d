"""Campaign parameters: the campaign type (issue 16.3), explicit or derived, and its checks."""

from __future__ import annotations

import pytest
import yaml

from crm_experiments.cli.main import build_parser, main
from crm_experiments.errors import ParamsError
from crm_experiments.params import CAMPAIGN_TYPES, load_params
from tests.conftest import DEMO_PARAMS

NO_COUPONS = [{"name": "control", "planned_share": 0.5},
              {"name": "treated", "planned_share": 0.5}]


def _write(tmp_path, **overrides):
    raw = yaml.safe_load(DEMO_PARAMS.read_text(encoding="utf-8"))
    raw.update(overrides)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_type_is_derived_from_the_arms_when_unset(tmp_path):
    assert load_params(DEMO_PARAMS).campaign_type is None
    assert load_params(DEMO_PARAMS).type == "coupon"  # the demo's arms give coupons
    assert load_params(_write(tmp_path, arms=NO_COUPONS)).type == "message"


@pytest.mark.parametrize("kind", [t for t in CAMPAIGN_TYPES if t != "coupon"])
def test_explicit_type_is_kept(tmp_path, kind):
    p = load_params(_write(tmp_path, arms=NO_COUPONS, campaign_type=kind))
    assert p.type == p.campaign_type == kind
    assert p.flat()["campaign_type"] == kind


def test_unknown_type_names_the_choices(tmp_path):
    with pytest.raises(ParamsError) as err:
        load_params(_write(tmp_path, campaign_type="voucher"))
    text = str(err.value)
    assert "campaign_type" in text and "'voucher'" in text
    assert all(t in text for t in CAMPAIGN_TYPES)


def test_type_must_fit_the_arms(tmp_path):
    # the demo's arms give coupons: a message campaign cannot
    with pytest.raises(ParamsError, match="coupon_face_value"):
        load_params(_write(tmp_path, campaign_type="message"))
    arms = [NO_COUPONS[0], {**NO_COUPONS[1], "benefit_cost": 5.0}]
    with pytest.raises(ParamsError, match="benefit_cost.*member_day"):
        load_params(_write(tmp_path, arms=arms, campaign_type="shop_discount"))
    p = load_params(_write(tmp_path, arms=arms, campaign_type="member_day"))
    assert p.arm("treated").benefit_cost == 5.0 and p.arm("control").benefit_cost is None
    with pytest.raises(ParamsError, match="benefit_cost"):
        load_params(_write(tmp_path, arms=[NO_COUPONS[0], {**NO_COUPONS[1], "benefit_cost": -1}],
                           campaign_type="member_day"))


# --- hostile params (issue 17.3): every case is refused by `crm-exp validate --params` with exit
# 2 and one message naming the file, the key and the rule; the legitimate edges below still load.

def _mutate(**changes):
    """A params text: the demo's values with ``changes`` (dotted keys) applied."""
    def build() -> str:
        raw = yaml.safe_load(DEMO_PARAMS.read_text(encoding="utf-8"))
        for dotted, value in changes.items():
            *parents, last = dotted.split(".")
            node = raw
            for key in parents:
                node = node[int(key)] if isinstance(node, list) else node[key]
            node[last] = value
        return yaml.safe_dump(raw, allow_unicode=True)
    return build


def _demo_text(old: str, new: str):
    """The demo's params text with one line edited (keeps comments and key order)."""
    def build() -> str:
        text = DEMO_PARAMS.read_text(encoding="utf-8")
        assert old in text
        return text.replace(old, new, 1)
    return build


def _raw(text: str | bytes):
    return lambda: text


BILLION_LAUGHS = "campaign_id: x\n" + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else 'lol'}]\n" for i in range(8))

# (id, params text, key the message names, rule the message states); expected: exit 2
HOSTILE = [
    # numbers: finite, in range
    ("negative_horizon", _mutate(horizons=[-7]), "horizons", "1-365 days"),
    ("zero_horizon", _mutate(horizons=[0, 7]), "horizons", "1-365 days"),
    ("huge_horizon", _mutate(horizons=[10**30]), "horizons", "1-365 days"),
    ("fractional_horizon", _mutate(horizons=[7.5]), "horizons.0", "valid integer"),
    ("infinite_fixed_cost", _mutate(**{"costs.fixed_cost": float("inf")}), "costs.fixed_cost",
     "finite number"),
    ("nan_message_cost", _mutate(**{"costs.message_cost": {"sms": float("nan")}}),
     "costs.message_cost.sms", "finite number"),
    ("negative_message_cost", _mutate(**{"costs.message_cost": {"sms": -0.05}}),
     "costs.message_cost.sms", "greater than or equal to 0"),
    ("absurd_fixed_cost", _mutate(**{"costs.fixed_cost": 1e300}), "costs.fixed_cost",
     "less than or equal to 1000000000000"),
    ("infinite_coupon_value", _mutate(**{"arms.1.coupon_face_value": float("inf")}),
     "arms.1.coupon_face_value", "finite number"),
    ("nan_benefit_cost", _mutate(campaign_type="member_day", **{
        "arms.1.coupon_face_value": 0, "arms.2.coupon_face_value": 0,
        "arms.1.benefit_cost": float("nan")}), "arms.1.benefit_cost", "finite number"),
    ("nan_planned_share", _mutate(**{"arms.1.planned_share": float("nan")}),
     "arms.1.planned_share", "finite number"),
    ("nan_alpha", _mutate(alpha=float("nan")), "alpha", "finite number"),
    ("negative_seed", _mutate(seed=-1), "seed", "greater than or equal to 0"),
    ("seed_beyond_numpy", _mutate(seed=2**40), "seed", "less than or equal to 4294967295"),
    ("notebook_horizon_absurd", _mutate(extra_notebooks={"clv_churn": [10**9]}),
     "extra_notebooks.clv_churn.0", "less than or equal to 365"),
    ("sale_in_year_1", _mutate(**{"sale.start": "0001-01-01"}), "sale", "outside 1990-01-01"),
    ("sale_in_year_9999", _mutate(**{"sale.start": "9999-12-01", "sale.end": "9999-12-31"}),
     "sale", "outside 1990-01-01"),
    # currency: an ISO 4217 code
    ("latex_currency", _mutate(**{"costs.currency": r"\textbf{CNY}"}), "costs.currency",
     "ISO 4217"),
    ("markup_currency", _mutate(**{"costs.currency": "<i>CUR</i>"}), "costs.currency",
     "ISO 4217"),
    ("lowercase_currency", _mutate(**{"costs.currency": "cny"}), "costs.currency",
     "did you mean CNY"),
    # text: bounded, printable (markup is kept as text: the templates escape it)
    ("nul_in_display_name", _mutate(display_name="Double\x0011"), "display_name",
     "control character"),
    ("bidi_override_in_label", _mutate(**{"arms.1.label": "10 off \u202e001"}), "arms.1.label",
     "control character"),
    ("escape_sequence_in_name", _mutate(display_name="\x1b[2Jgone"), "display_name",
     "U+001B"),
    ("huge_label", _mutate(**{"arms.1.label": "<b>" * 10_000}), "arms.1.label",
     "at most 200 characters"),
    ("empty_display_name", _mutate(display_name=""), "display_name", "at least 1 character"),
    ("huge_channel_name", _mutate(**{"costs.message_cost": {"x" * 1000: 0.1}}),
     "costs.message_cost", "at most 64 characters"),
    ("nul_in_data_path", _mutate(**{"data.path": "data\x00/demo"}), "data.path",
     "control character"),
    # the YAML itself
    ("duplicate_cost_key", _demo_text("fixed_cost: 2000", "fixed_cost: 2000\n  fixed_cost: 5"),
     "costs.fixed_cost", "given twice (lines"),
    ("duplicate_top_level_key", _demo_text("horizons: [7, 30]", "horizons: [7, 30]\nhorizons: [7]"),
     "horizons", "give each key once"),
    ("duplicate_arm_key", _demo_text("coupon_face_value: 10", "coupon_face_value: 10\n"
                                     "    coupon_face_value: 100"),
     "arms.1.coupon_face_value", "given twice"),
    ("deep_list", _raw("campaign_id: x\nextra: " + "[" * 5000 + "]" * 5000), None,
     "nested more than 20 levels"),
    ("deep_mapping", _raw("campaign_id: x\nextra: " + "{a: " * 3000 + "1" + "}" * 3000), None,
     "nested more than 20 levels"),
    ("billion_laughs", _raw(BILLION_LAUGHS), "l5", "expands to more than 100,000 values"),
    ("recursive_anchor", _raw("campaign_id: x\nloop: &a [1, *a]\n"), "loop", "recursive anchor"),
    ("file_of_2_mb", _raw("# padding\n" * 200_000), None, "more than the 1,000,000"),
    ("latin1_bytes", _raw("display_name: caf\xe9\n".encode("latin-1")), None, "not UTF-8"),
    ("nul_byte_in_yaml", _raw("campaign_id: x\x00"), None, "not valid YAML"),
    ("python_object_tag", _raw("!!python/object/apply:os.system [echo hi]"), None,
     "not valid YAML"),
    ("list_at_top_level", _raw("- campaign_id\n- demo\n"), None, "mapping of keys"),
    # YAML 1.1 booleans (yes/no/on/off) are not taken as 1/0 or as text
    ("yaml_boolean_id", _demo_text("campaign_id: demo_d11", "campaign_id: yes"), "campaign_id",
     "YAML booleans"),
    ("fixed_cost_no", _demo_text("fixed_cost: 2000", "fixed_cost: no"), "costs.fixed_cost",
     "YAML booleans"),
    ("message_cost_off", _demo_text("sms: 0.05", "sms: off"), "costs.message_cost",
     "YAML booleans"),
    ("horizon_true", _demo_text("horizons: [7, 30]", "horizons: [true, 30]"), "horizons",
     "YAML booleans"),
]


@pytest.mark.parametrize(("text", "key", "rule"), [c[1:] for c in HOSTILE],
                         ids=[c[0] for c in HOSTILE])
def test_hostile_params_are_refused_naming_file_key_and_rule(tmp_path, capsys, text, key, rule):
    content = text()
    path = tmp_path / "hostile.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    assert main(["validate", "--params", str(path)]) == 2
    captured = capsys.readouterr()
    message = captured.err
    assert message.startswith(f"crm-exp validate: {path}:"), message
    assert key is None or f" {key}" in message, message
    assert rule in message, message
    assert "Traceback" not in message and captured.out == ""
    with pytest.raises(ParamsError):  # the same refusal for every command that loads params
        load_params(path)


def test_hostile_files_that_are_not_files(tmp_path, capsys):
    # a folder and a missing file: exit 2 naming the path, no traceback
    assert main(["validate", "--params", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["validate", "--params", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: file not found" in capsys.readouterr().err


def test_legitimate_edges_still_load(tmp_path):
    # markup and Chinese text are kept verbatim (the templates escape them), a merge key is not a
    # duplicate, and the bounds themselves are allowed
    text = DEMO_PARAMS.read_text(encoding="utf-8")
    text = text.replace('display_name: "Demo shop - Double 11 2025 coupon test"',
                        'display_name: "双十一 <b>Demo</b> & co"')
    text = text.replace("  - name: coupon_100_10\n", "  - &shared\n    name: coupon_100_10\n")
    text = text.replace("  - name: coupon_200_30\n",
                        "  - <<: *shared\n    name: coupon_200_30\n")
    text = text.replace("horizons: [7, 30]", "horizons: [1, 365]")
    text = text.replace("fixed_cost: 2000", "fixed_cost: 1000000000000")
    text = text.replace("currency: CNY", "currency: USD").replace("seed: 20251111", "seed: 0")
    text = text.replace("clv_churn: [30]", "clv_churn: [365]").replace(
        "coupon_uplift: [30]", "coupon_uplift: [1]")
    path = tmp_path / "edges.yaml"
    path.write_text(text, encoding="utf-8")
    p = load_params(path)
    assert p.display_name == "双十一 <b>Demo</b> & co"
    assert p.arm("coupon_200_30").coupon_face_value == 30  # its own value wins over the merge
    assert p.arm("coupon_200_30").label == "30 off 200"
    assert p.horizons == (1, 365) and p.seed == 0 and p.costs.currency == "USD"
    assert p.costs.fixed_cost == 1e12
    assert load_params(DEMO_PARAMS).costs.currency == "CNY"


# --- repeated command-line options: refused (exit 2) naming the option and both values, before
# any work; options that collect values keep all of them

REPEATED = [
    ("compare", ["compare", "t.csv", "--arm", "arm", "--control", "c", "--alpha", "0.05",
                 "--alpha", "0.1"], "--alpha", "'0.05', then '0.1'"),
    ("validate", ["validate", "--params", "a.yaml", "--params", "b.yaml"], "--params",
     "'a.yaml', then 'b.yaml'"),
    ("import", ["import", "--format", "taobao", "x.csv", "--out", "out", "--format", "shopify"],
     "--format", "'taobao', then 'shopify'"),
    ("import_out", ["import", "--format", "taobao", "x.csv", "--out", "out", "--out", "out2"],
     "--out", "given twice"),
    ("metrics", ["metrics", "data", "--as-of", "2025-11-01", "--as-of", "2025-12-01"], "--as-of",
     "given twice"),
    ("run", ["run", "p.yaml", "--reports-dir", "r1", "--reports-dir", "r2"], "--reports-dir",
     "given twice"),
    ("uplift", ["uplift", "t.csv", "--arm", "a", "--control", "c", "--outcome", "y",
                "--features", "f", "--outcome", "z"], "--outcome", "given twice"),
    ("horizon_out_of_range", ["run", "p.yaml", "--horizon", "100000"], "--horizon",
     "1-365 days"),
    ("horizon_not_a_number", ["validate", "--params", "p.yaml", "--horizon", "7d"], "--horizon",
     "not a whole number"),
]


@pytest.mark.parametrize(("argv", "option", "says"), [c[1:] for c in REPEATED],
                         ids=[c[0] for c in REPEATED])
def test_repeated_option_is_refused(tmp_path, monkeypatch, capsys, argv, option, says):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"crm-exp {argv[0]}: error: argument {option}" in err and says in err, err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_options_that_collect_values_keep_every_value():
    args = build_parser().parse_args(["compare", "t.csv", "--arm", "a", "--control", "c",
                                      "--covariate", "y=a", "--covariate", "z=b",
                                      "--metric", "y", "--metric", "z"])
    assert args.covariate == ["y=a", "z=b"] and args.metric == ["y", "z"]
    assert not hasattr(args, "_options_given")
    args = build_parser().parse_args(["run", "p.yaml", "--horizon", "7", "--horizon", "30"])
    assert args.horizon == [7, 30]


def test_due_lists_every_hostile_campaign_file_and_exits_1(tmp_path, capsys):
    # a campaign folder with a deeply nested file (was a RecursionError that stopped `due` and
    # `schedule` for every campaign) and a duplicated key: one line per file, exit 1
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "deep.yaml").write_text("campaign_id: x\nextra: " + "[" * 3000 + "]" * 3000,
                                      encoding="utf-8")
    (folder / "dup.yaml").write_text(_demo_text("seed: 20251111", "seed: 1\nseed: 2")(),
                                     encoding="utf-8")
    assert main(["due", "--campaigns", str(folder), "--today", "2025-12-31"]) == 1
    err = capsys.readouterr().err
    assert "deep.yaml: line 2: nested more than 20 levels" in err
    assert "dup.yaml: line 45: seed: key 'seed' is given twice (lines 44 and 45)" in err
    assert "Traceback" not in err


def test_adjustment_is_declared_with_known_groups_and_methods(tmp_path):
    """The covariates of the regression adjustment are declared in the params (issue 18.1):
    the default is every group; an unknown group or method names the parameter and choices."""
    default = load_params(DEMO_PARAMS).adjustment
    assert default.covariates == ("pre_period", "history", "lifecycle_state", "tier", "gender")
    assert (default.method, default.strata) == ("auto", "lifecycle_state")
    chosen = load_params(_write(tmp_path, adjustment={"covariates": ["pre_period"],
                                                      "method": "ridge", "strata": None}))
    assert chosen.adjustment.covariates == ("pre_period",) and chosen.adjustment.strata is None
    for bad, words in (({"covariates": ["pre_period", "income"]}, ("adjustment", "income",
                                                                   "history")),
                       ({"method": "lasso"}, ("adjustment", "lasso", "ridge")),
                       ({"covariate": ["tier"]}, ("adjustment", "covariate"))):
        with pytest.raises(ParamsError) as err:
            load_params(_write(tmp_path, adjustment=bad))
        assert all(w in str(err.value) for w in words), str(err.value)


def test_model_sample_sizes_are_declared_with_defaults(tmp_path):
    """The sampled models' sizes (issue 19): defaults, null = everyone, a size too small or an
    unknown key names the parameter."""
    default = load_params(DEMO_PARAMS).model_sample
    assert (default.clv_customers, default.churn_customers) == (1_000_000, 100_000)
    assert (default.uplift_train_customers, default.uplift_test_customers) == (500_000, 200_000)
    chosen = load_params(_write(tmp_path, model_sample={"clv_customers": None,
                                                        "churn_customers": 5000}))
    assert chosen.model_sample.clv_customers is None
    assert chosen.model_sample.churn_customers == 5000
    for bad, words in (({"clv_customers": 10}, ("model_sample", "clv_customers", "1000")),
                       ({"clv": 5000}, ("model_sample", "clv"))):
        with pytest.raises(ParamsError) as err:
            load_params(_write(tmp_path, model_sample=bad))
        assert all(w in str(err.value) for w in words), str(err.value)

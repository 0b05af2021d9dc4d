"""``crm-exp generate``: a streamed shop and its chunk option."""

import json

from crm_experiments.cli import main


def test_generate_streams_in_chunks(tmp_path, capsys):
    out = tmp_path / "shop"
    code = main(["generate", "params/demo.yaml", str(out), "--customers", "300",
                 "--chunk-customers", "100", "--purchase-rate-scale", "2"])
    printed = capsys.readouterr().out
    assert code == 0 and "3 chunks of 100 customers" in printed
    truth = json.loads((out / "truth.json").read_text())
    assert truth["n_customers"] == 300 and truth["multipliers"]["purchase_rate_scale"] == 2.0
    assert truth["data"]["chunks"]["customers_per_chunk"] == 100
    assert f"{truth['data']['rows']['orders']:,} rows" in printed


def test_generate_refuses_a_tiny_chunk(tmp_path, capsys):
    code = main(["generate", "params/demo.yaml", str(tmp_path / "shop"), "--customers", "300",
                 "--chunk-customers", "5"])
    assert code == 2 and "--chunk-customers must be 10 to 20,000,000, got 5" in (
        capsys.readouterr().err)
    assert not (tmp_path / "shop").exists()

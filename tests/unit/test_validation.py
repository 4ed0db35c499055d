"""Request coercion (config/coerce.py) and configuration checks (evaluation/checks.py), in process.

Each bad value is one ``ConfigError`` line that names the option; the CLI prints it with exit 2
(tests/integration/test_cli_contract.py keeps the end-to-end cases).
"""

from __future__ import annotations

import pytest

from eat_core.config.coerce import coerce_request
from eat_core.config.requests import EvalRequest
from eat_core.config.run import get_profile
from eat_core.errors import ConfigError
from eat_core.evaluation.checks import validate_config


@pytest.mark.parametrize(("request_", "expected"), [
    (None, {}),
    ({"languages": " ZH, ja ,zh"}, {"languages": ("zh", "ja")}),
    ({"languages": ["zh", "KO,ja"]}, {"languages": ("zh", "ko", "ja")}),
    ({"run_id": "my-run_1.2"}, {"run_id": "my-run_1.2"}),
    ({"dask_address": "tcp://10.0.0.5:8786"}, {"dask_address": "tcp://10.0.0.5:8786"}),
    ({"dask_address": "scheduler:8786"}, {"dask_address": "scheduler:8786"}),
    (EvalRequest(limit=3), {"limit": 3}),
])
def test_good_requests_are_normalised(request_, expected):
    req, execution = coerce_request(request_)  # execution options (Dask, Prefect) come back beside the request
    assert isinstance(req, EvalRequest)
    for name, value in expected.items():
        if name == "languages":
            value = tuple(value)
            assert tuple(req.languages) == value
        elif name.startswith("dask_"):
            assert getattr(execution, name) == value
        else:
            assert getattr(req, name) == value


@pytest.mark.parametrize(("request_", "line"), [
    ({"langs": ["zh"]}, r"^unknown parameter 'langs'; allowed: "),
    ({"languages": "xx"}, r"^--languages: .*'xx'"),
    ({"languages": " , "}, r"^--languages: no language given"),
    ({"limit": 0}, r"^--limit: .*greater than or equal to 1 \(got 0\)"),
    ({"shard_size": "many"}, r"^--shard-size: "),
    ({"run_id": "../x"}, r"^--run-id: .*is not allowed"),
    ({"run_id": "a/b"}, r"^--run-id: .*is not allowed"),
    ({"dask_address": "foo"}, r"^--dask-address: 'foo' is not a scheduler address"),
    ({"dask_address": "tcp://a:1", "dask_workers": 2}, r"^--dask-address: give either"),
])
def test_bad_requests_are_one_line_naming_the_option(request_, line):
    with pytest.raises(ConfigError, match=line) as error:
        coerce_request(request_)
    assert "\n" not in str(error.value)


SMOKE = get_profile("smoke")


def test_the_smoke_profile_is_valid():
    validate_config(SMOKE)


@pytest.mark.parametrize(("overrides", "line"), [
    ({"method.name": "crap"}, r"--method: .*'crap'.*did you mean 'crop'"),
    ({"method.name": "eat-ft"}, r"^--adapter: method 'eat-ft' needs a LoRA adapter"),
    ({"method.name": "model-transfer", "extractor.name": "heuristic"}, r"^--extractor: method 'model-transfer'"),
    ({"llm.backend": "nope"}, r"--llm-backend: .*available: transformers, openai"),
    ({"llm.backend": "openai"}, r"^--base-url: the openai backend needs an http\(s\) URL .*got 'nothing'"),
    ({"llm.backend": "openai", "llm.base_url": "http://a:1/v1,ftp://b"}, r"bad entry 'ftp://b'"),
    ({"llm.base_url": "http://127.0.0.1:9/v1"}, r"^--base-url: only used with --llm-backend openai"),
    ({"llm.model": "/no/such/model"}, r"--llm: .*no such model directory"),
    ({"llm.adapter": "/no/such/adapter"}, r"^--adapter: .*adapter_config.json"),
    ({"extractor.name": "nope"}, r"--extractor: .*available: "),
    ({"extractor.name": "t5", "extractor.model": "/no/such/t5"}, r"--extractor-model: .*no such model"),
    ({"engine.prompts_dir": "/no/such/prompts"}, r"^engine.prompts_dir: no such directory"),
    ({"data.source": "local", "data.data_dir": "/no/such/data"}, r"^--data: no such directory"),
])
def test_bad_configurations_are_one_line_naming_the_option(overrides, line):
    with pytest.raises(ConfigError, match=line) as error:
        validate_config(SMOKE.with_overrides(**overrides))
    assert "\n" not in str(error.value)


def test_a_prompt_with_an_unknown_placeholder_is_refused(tmp_path):
    (tmp_path / "forward_single.txt").write_text("{secret}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"template 'forward_single' uses unknown placeholder\(s\) secret"):
        validate_config(SMOKE.with_overrides(**{"engine.prompts_dir": str(tmp_path)}))


def test_a_data_file_over_the_limits_names_its_line(tmp_path):
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "dev.tsv").write_text("北\tB-LOC\n\n" + "长" * 300 + "\tO\n", encoding="utf-8")
    cfg = SMOKE.with_overrides(**{"data.source": "local", "data.data_dir": str(tmp_path), "data.languages": ("zh",)})
    with pytest.raises(Exception, match=r"dev.tsv:3:.*data.max_token_chars") as error:
        validate_config(cfg)
    assert "\n" not in str(error.value)

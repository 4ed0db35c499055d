"""Wikimedia's User-Agent policy: every harvest names a contact (e-mail or URL), the placeholder is refused."""

import pytest

from eat_core.eacl.harvest import check_user_agent
from eat_core.errors import ConfigError


@pytest.mark.parametrize("agent", ["eat-ner/0.1 (you@example.org)", "lab-bot/2 (https://lab.example.org/bot)",
                                   "eat-ner-tests/0.1 (x@y.z)"])
def test_a_user_agent_with_a_contact_is_accepted(agent):
    assert check_user_agent(agent) == agent


@pytest.mark.parametrize("agent", ["eat-ner/0.1 (set a contact address)", "eat-ner/0.1", "", None, "me@localhost"])
def test_a_user_agent_without_a_contact_is_one_line_naming_the_setting(agent):
    with pytest.raises(ConfigError) as err:
        check_user_agent(agent, "--user-agent")
    message = str(err.value)
    assert message.startswith("--user-agent: ") and "contact" in message and "\n" not in message

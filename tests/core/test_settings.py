"""Deployment settings: read and validated once, with a message naming the variable."""

import os

import pytest

from core.settings import SettingsError, load


def bank_from_env():
    return load(os.environ).bank


def bank_domain_from_env():
    return load(os.environ).bank_domain


def test_defaults_to_icbc():
    bank = bank_from_env()
    assert (bank.name, bank.hotline) == ("工商银行", "95588")


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("BANK_NAME", " 建设银行 ")
    monkeypatch.setenv("BANK_HOTLINE", " 95533 ")
    bank = bank_from_env()
    assert (bank.name, bank.hotline) == ("建设银行", "95533")


@pytest.mark.parametrize("value", ["", "   "])
def test_blank_values_fall_back_to_defaults(monkeypatch, value):
    monkeypatch.setenv("BANK_NAME", value)
    monkeypatch.setenv("BANK_HOTLINE", value)
    bank = bank_from_env()
    assert (bank.name, bank.hotline) == ("工商银行", "95588")


@pytest.mark.parametrize("hotline", ["abc", "955-33", "95", "1234567890123", "+8695533", "9553３x"])
def test_invalid_hotline_raises_clear_error(monkeypatch, hotline):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", hotline)
    with pytest.raises(ValueError, match="BANK_HOTLINE") as error:
        bank_from_env()
    assert repr(hotline) in str(error.value)


def test_full_width_hotline_is_rejected(monkeypatch):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", "９５５３３")
    with pytest.raises(ValueError, match="ASCII digits"):
        bank_from_env()


@pytest.mark.parametrize("variable", ["BANK_NAME", "BANK_HOTLINE"])
def test_name_and_hotline_are_configured_together(monkeypatch, variable):
    monkeypatch.setenv(variable, "建设银行" if variable == "BANK_NAME" else "95533")
    with pytest.raises(ValueError, match="together"):
        bank_from_env()


# --- BANK_DOMAIN ------------------------------------------------------------------


@pytest.fixture
def no_bank_domain(monkeypatch):
    monkeypatch.delenv("BANK_DOMAIN", raising=False)


def test_bank_domain_defaults_to_icbc(no_bank_domain):
    assert bank_domain_from_env() == "icbc.com.cn"


def test_icbc_named_explicitly_keeps_the_default_domain(monkeypatch, no_bank_domain):
    monkeypatch.setenv("BANK_NAME", "工商银行")
    monkeypatch.setenv("BANK_HOTLINE", "95588")
    assert bank_domain_from_env() == "icbc.com.cn"


def test_another_bank_without_domain_vouches_for_no_site(monkeypatch, no_bank_domain):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", "95533")
    assert bank_domain_from_env() == ""


def test_bank_domain_from_environment(monkeypatch):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", "95533")
    monkeypatch.setenv("BANK_DOMAIN", " CCB.com ")
    assert bank_domain_from_env() == "ccb.com"


def test_bank_domain_without_bank_name_is_refused(monkeypatch):
    monkeypatch.setenv("BANK_DOMAIN", "ccb.com")
    with pytest.raises(ValueError, match="BANK_NAME"):
        bank_domain_from_env()


@pytest.mark.parametrize(
    "domain", ["https://ccb.com", "ccb.com/", "www.ccb.com:443", "ccb", "建设银行.com", "-ccb.com", "ccb..com"]
)
def test_invalid_bank_domain_raises_clear_error(monkeypatch, domain):
    monkeypatch.setenv("BANK_NAME", "建设银行")
    monkeypatch.setenv("BANK_HOTLINE", "95533")
    monkeypatch.setenv("BANK_DOMAIN", domain)
    with pytest.raises(ValueError, match="BANK_DOMAIN") as error:
        bank_domain_from_env()
    assert repr(domain.strip().lower()) in str(error.value)


# --- the rest of the settings ----------------------------------------------------------


def test_defaults_need_no_variable():
    config = load({})
    assert config.rate_per_sender.count == 20 and config.rate_per_ip.count == 120
    assert config.reply_timeout == 10.0 and config.turns_at_once == 3
    assert config.chat_allowed_origins == frozenset() and config.retention_days == 30
    assert str(config.endpoints_file) == "endpoints.yml" and config.handoff_db_url == ""


def test_every_bad_variable_is_named_at_once():
    env = {"BANK_HOTLINE": "abc", "BANK_NAME": "建设银行", "RATE_LIMIT_PER_IP": "lots",
           "ASSISTANT_REPLY_TIMEOUT": "-1", "MAX_TURNS_AT_ONCE": "zero",
           "CHAT_ALLOWED_ORIGINS": "https://bank.example/path", "RETENTION_DAYS": "0"}
    with pytest.raises(SettingsError) as error:
        load(env)
    message = str(error.value)
    assert message.startswith("配置有误")
    for variable in ("BANK_HOTLINE", "RATE_LIMIT_PER_IP", "ASSISTANT_REPLY_TIMEOUT",
                     "MAX_TURNS_AT_ONCE", "allowed origins", "RETENTION_DAYS"):
        assert variable in message


def test_rate_limits_can_be_switched_off():
    config = load({"RATE_LIMIT_PER_SENDER": "off", "RATE_LIMIT_PER_IP": "0"})
    assert config.rate_per_sender is None and config.rate_per_ip is None


def test_wechat_variables_are_passed_on_as_given():
    config = load({"WECHAT_TOKEN": "t", "WECHAT_MODE": "safe", "OTHER": "x"})
    assert dict(config.wechat_env) == {"WECHAT_TOKEN": "t", "WECHAT_MODE": "safe"}


def test_reply_timeout_and_turns_at_once():
    config = load({"ASSISTANT_REPLY_TIMEOUT": "2.5", "MAX_TURNS_AT_ONCE": " 8 "})
    assert (config.reply_timeout, config.turns_at_once) == (2.5, 8)
    for bad in ["0", "-1", "soon"]:
        with pytest.raises(SettingsError, match="ASSISTANT_REPLY_TIMEOUT"):
            load({"ASSISTANT_REPLY_TIMEOUT": bad})
    for bad in ("0", "-1", "2.5", "many", "1001"):
        with pytest.raises(SettingsError, match="MAX_TURNS_AT_ONCE"):
            load({"MAX_TURNS_AT_ONCE": bad})


# --- SHARED_STATE (rate limits and WeChat memory shared by replicas) ----------------


def test_shared_state_stays_in_memory_unless_asked():
    config = load({"REDIS_HOST": "10.0.0.5"})  # the lock store's variables alone: no
    assert config.shared_state_redis_url == ""
    assert config.shared_state_key_prefix == "fanzha"


def test_shared_state_in_redis_uses_the_lock_stores_variables():
    config = load({"SHARED_STATE": "redis", "REDIS_HOST": "10.0.0.5", "REDIS_PORT": "6380",
                   "REDIS_DB": "2", "REDIS_PASSWORD": "p@ss/word", "REDIS_KEY_PREFIX": "bank1"})
    assert config.shared_state_redis_url == "redis://:p%40ss%2Fword@10.0.0.5:6380/2"
    assert config.shared_state_key_prefix == "bank1"
    assert load({"SHARED_STATE": "Redis"}).shared_state_redis_url == "redis://127.0.0.1:6379/0"


def test_shared_state_url_and_prefix_of_their_own():
    config = load({"SHARED_STATE": "redis", "SHARED_STATE_REDIS_URL": "rediss://r.example:6380/3",
                   "REDIS_HOST": "ignored", "SHARED_STATE_KEY_PREFIX": "fz-shared",
                   "REDIS_KEY_PREFIX": "locks"})
    assert config.shared_state_redis_url == "rediss://r.example:6380/3"
    assert config.shared_state_key_prefix == "fz-shared"


@pytest.mark.parametrize("env, named", [
    ({"SHARED_STATE": "postgres"}, "SHARED_STATE"),
    ({"SHARED_STATE": "redis", "SHARED_STATE_REDIS_URL": "http://x"}, "SHARED_STATE_REDIS_URL"),
    ({"SHARED_STATE": "redis", "REDIS_PORT": "sixty"}, "REDIS_PORT"),
    ({"SHARED_STATE": "redis", "REDIS_HOST": "a b"}, "REDIS_HOST"),
    ({"SHARED_STATE_KEY_PREFIX": "has space"}, "SHARED_STATE_KEY_PREFIX"),
])
def test_bad_shared_state_settings_name_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        load(env)


@pytest.mark.parametrize("raw, wait", [("", False), ("0", False), ("1", True), (" TRUE ", True)])
def test_wait_for_port_is_a_switch(raw, wait):
    assert load({"SERVER_WAIT_FOR_PORT": raw}).wait_for_port is wait


def test_wait_for_port_refuses_anything_else():
    with pytest.raises(SettingsError, match="SERVER_WAIT_FOR_PORT"):
        load({"SERVER_WAIT_FOR_PORT": "sometimes"})

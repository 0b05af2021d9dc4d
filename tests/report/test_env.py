"""report/env.py: compile_templates fills the environment's template cache with every
template, and a page rendered afterwards is the one rendered without it."""

from crm_experiments.report import env


def test_compile_templates_caches_every_template():
    environment = env.environment()
    names = environment.list_templates()
    text = env.render_string("{{ tr('holdout', 'zh') }}")
    assert env.compile_templates() == len(names) > 10
    cached = {key[1] for key in environment.cache}
    assert set(names) <= cached
    assert env.render_string("{{ tr('holdout', 'zh') }}") == text

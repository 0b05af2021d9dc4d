"""pipeline/prefetch.py: steps run in order on a daemon thread (a name is imported, a function
called); a failing step does not stop the ones after it."""

import gc
import sys

from crm_experiments.pipeline.prefetch import prefetch


def test_steps_run_in_order_and_a_failure_does_not_stop_the_rest():
    sys.modules.pop("colorsys", None)
    done = []

    def fail():
        done.append("fail")
        raise RuntimeError("a warm-up that fails")

    thread = prefetch([lambda: done.append("first"), "no_such_module_for_prefetch", fail,
                       "colorsys", lambda: done.append("colorsys" in sys.modules),
                       lambda: done.append(gc.isenabled())])
    thread.join(timeout=30)
    assert not thread.is_alive() and thread.daemon
    assert done == ["first", "fail", True, False]  # the collector paused on the thread
    assert gc.isenabled()  # and resumed after it


def test_collections_paused_resumes_early_or_on_leaving():
    import gc

    from crm_experiments.pipeline.prefetch import collections_paused

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with collections_paused(thaw=True) as resume:
        assert not gc.isenabled()
        made = [[]]  # a container made in the pause: frozen when the collector resumes
        resume()
        assert gc.isenabled() and gc.get_freeze_count() > frozen
        del made
    assert gc.get_freeze_count() == 0  # thawed on leaving
    with collections_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.unfreeze()
    gc.disable()
    try:  # a collector paused by someone else stays paused
        with collections_paused() as resume:
            resume()
        assert not gc.isenabled()
    finally:
        gc.enable()

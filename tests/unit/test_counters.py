from vmconsole.backends.counters import per_second


def test_rates_per_second_and_a_reset_counter_gives_no_negative_rate():
    assert per_second([100, 50], [300, 10], 2.0) == (100.0, 0.0)
    assert per_second([1, 2], [5, 6], 0.0) == (0.0, 0.0)

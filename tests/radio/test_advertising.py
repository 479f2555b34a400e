"""Legacy advertising of each type, heard by passive and active scanners."""

from __future__ import annotations

import asyncio

import pytest
from bumble.device import AdvertisingType

from .helpers import Env, Radio, collect_reports, run, wait_for

ADV_DATA = bytes.fromhex("020106") + b"\x05\x09adv1"
RSP_DATA = b"\x09\x09response"

ADV_IND, ADV_DIRECT_IND, ADV_SCAN_IND, ADV_NONCONN_IND, SCAN_RSP = range(5)


def _from(reports: list, device) -> list:
    return [r for r in reports if r.address == device.random_address]


@pytest.mark.parametrize(
    ("adv_type", "passive_types", "active_types"),
    [
        (AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE, [ADV_IND], [ADV_IND, SCAN_RSP]),
        (AdvertisingType.UNDIRECTED_SCANNABLE, [ADV_SCAN_IND], [ADV_SCAN_IND, SCAN_RSP]),
        (AdvertisingType.UNDIRECTED, [ADV_NONCONN_IND], [ADV_NONCONN_IND]),
    ],
    ids=["ADV_IND", "ADV_SCAN_IND", "ADV_NONCONN_IND"],
)
def test_report_types_and_data(radio: Radio, adv_type, passive_types, active_types) -> None:
    async def scenario(env: Env) -> None:
        advertiser = await env.device("advertiser")
        passive = await env.device("passive")
        active = await env.device("active")
        passive_reports, active_reports = collect_reports(passive), collect_reports(active)
        await passive.start_scanning(legacy=True, active=False, filter_duplicates=True)
        await active.start_scanning(legacy=True, active=True, filter_duplicates=True)
        await advertiser.start_advertising(
            advertising_type=adv_type,
            advertising_data=ADV_DATA,
            scan_response_data=RSP_DATA,
            advertising_interval_min=20,
            advertising_interval_max=20,
        )
        await wait_for(lambda: len(_from(active_reports, advertiser)) >= len(active_types))
        await wait_for(lambda: _from(passive_reports, advertiser))
        # many more advertising events: duplicate filtering keeps one report of each type
        await asyncio.sleep(0.3)
        passive_seen = _from(passive_reports, advertiser)
        active_seen = _from(active_reports, advertiser)
        assert [r.event_type for r in passive_seen] == passive_types
        assert sorted(r.event_type for r in active_seen) == active_types
        for report in passive_seen + active_seen:
            expected = RSP_DATA if report.event_type == SCAN_RSP else ADV_DATA
            assert bytes(report.data) == expected
            assert -127 < report.rssi < 20

    run(radio, scenario)


def test_duplicates_reported_without_filter(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        advertiser = await env.device("advertiser")
        scanner = await env.device("scanner")
        reports = collect_reports(scanner)
        await scanner.start_scanning(legacy=True, active=False, filter_duplicates=False)
        await advertiser.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED,
            advertising_data=ADV_DATA,
            advertising_interval_min=20,
            advertising_interval_max=20,
        )
        await wait_for(lambda: len(_from(reports, advertiser)) >= 3)

    run(radio, scenario)


def test_rssi_varies_between_devices(virtual: Radio) -> None:
    async def scenario(env: Env) -> None:
        advertisers = [await env.device(f"adv{i}") for i in range(6)]
        scanner = await env.device("scanner")
        reports = collect_reports(scanner)
        await scanner.start_scanning(legacy=True, active=False, filter_duplicates=False)
        for advertiser in advertisers:
            await advertiser.start_advertising(
                advertising_type=AdvertisingType.UNDIRECTED,
                advertising_data=ADV_DATA,
                advertising_interval_min=20,
                advertising_interval_max=20,
            )
        await wait_for(lambda: all(len(_from(reports, a)) >= 5 for a in advertisers))
        values = {r.rssi for r in reports}
        assert len(values) > 3
        assert all(-127 < r.rssi < 0 for r in reports)

    run(virtual, scenario)


def test_directed_advertising_reaches_only_its_target(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        advertiser = await env.device("advertiser")
        target = await env.device("target")
        other = await env.device("other")
        target_reports, other_reports = collect_reports(target), collect_reports(other)
        await target.start_scanning(legacy=True, active=False, filter_duplicates=True)
        await other.start_scanning(legacy=True, active=False, filter_duplicates=True)
        await advertiser.start_advertising(
            advertising_type=AdvertisingType.DIRECTED_CONNECTABLE_LOW_DUTY,
            target=target.random_address,
            advertising_interval_min=20,
            advertising_interval_max=20,
        )
        seen = await wait_for(lambda: _from(target_reports, advertiser))
        assert seen[0].event_type == ADV_DIRECT_IND
        await asyncio.sleep(0.2)
        assert not _from(other_reports, advertiser)

    run(radio, scenario)


def test_advertising_stops(radio: Radio) -> None:
    async def scenario(env: Env) -> None:
        advertiser = await env.device("advertiser")
        scanner = await env.device("scanner")
        reports = collect_reports(scanner)
        await advertiser.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED,
            advertising_data=ADV_DATA,
            advertising_interval_min=20,
            advertising_interval_max=20,
        )
        await scanner.start_scanning(legacy=True, active=False, filter_duplicates=False)
        await wait_for(lambda: _from(reports, advertiser))
        await advertiser.stop_advertising()
        await asyncio.sleep(0.05)
        count = len(_from(reports, advertiser))
        await asyncio.sleep(0.2)
        assert len(_from(reports, advertiser)) == count

    run(radio, scenario)

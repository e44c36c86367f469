"""The seeds' journeys through the back office, in a real browser (issue 25, item 5)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site
from tests.http.test_routes import ok, register
from tests.support.sheets import csv_bytes


def exhibitor_editions(site: Site) -> tuple[str, str]:
    """Eventmaker's exhibitor: registered to the 2024 and the 2025 editions of a salon."""
    api = site.api
    ok(api.call("PUT", "/v1/settings", json={"sync": {"company": "up_and_propagate"}}))
    editions = []
    for year in (2024, 2025):
        event = ok(api.call("POST", "/v1/events", json={"name": f"Salon Expo {year}"}), 201)
        sync = {"enabled": True, "scope": "all"}
        ok(api.call("PUT", f"/v1/events/{event['id']}/sync", json=sync))
        editions.append(event["id"])
    for event_id in editions:
        fields = {
            "email": "claire.martin@exposant.fr",
            "first_name": "Claire",
            "last_name": "Martin",
            "company": "Vinexpo",
        }
        assert register(api, event_id, **fields).status_code == 201
    return editions[0], editions[1]


def test_sign_in_and_the_exhibitor_of_two_editions_is_one_contact(site: Site, page: Page) -> None:
    exhibitor_editions(site)
    site.sign_in(page, "analyst")
    page.fill("input[name=q]", "martin")
    page.click("form.filters button[type=submit]")
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").nth(-2)).to_have_text("2")  # its events
    rows.first.locator("a").click()
    expect(page.locator("h1")).to_have_text("Claire Martin")
    expect(page.locator("section", has_text="Participations").locator("tbody tr")).to_have_count(2)


def test_a_company_edited_in_one_edition_is_seen_in_the_other(site: Site, page: Page) -> None:
    exhibitor_editions(site)
    site.sign_in(page, "editor")
    page.click("nav >> text=Events")
    page.click("text=Salon Expo 2024")
    page.click("table.grid >> text=Claire Martin")
    page.fill("input[name='field.company']", "Vinexpo Paris")
    page.click("form.fields button[type=submit]")
    expect(page.locator(".flash")).to_have_text("Saved.")
    page.click("text=Salon Expo 2024")  # back to the event
    page.goto(f"{site.url}/events")
    page.click("text=Salon Expo 2025")
    page.click("table.grid >> text=Claire Martin")
    expect(page.locator("input[name='field.company']")).to_have_value("Vinexpo Paris")


def test_filter_save_a_view_and_add_it_to_a_group_with_its_progress(site: Site, page: Page) -> None:
    exhibitor_editions(site)
    api = site.api
    event_id = ok(api.call("POST", "/v1/events", json={"name": "Club"}), 201)["id"]
    ok(api.call("PUT", f"/v1/events/{event_id}/sync", json={"enabled": True, "scope": "all"}))
    for n in range(3):
        register(api, event_id, email=f"member{n}@club.org", company="Club")
    ok(api.call("POST", "/v1/groups", json={"name": "Exhibitors"}), 201)
    site.sign_in(page, "editor")
    page.fill("input[name=min_events]", "2")
    page.click("form.filters button[type=submit]")
    expect(page.locator("table.grid tbody tr")).to_have_count(1)
    page.click("summary >> text=Save this view")
    page.fill("form[action='/contacts/views'] input[name=name]", "Returning exhibitors")
    page.click("form[action='/contacts/views'] button")
    expect(page.locator(".flash")).to_have_text("View saved.")
    expect(page.locator("select[name=view] option:checked")).to_have_text("Returning exhibitors")
    page.check("input[name=scope][value=view]")
    page.select_option("select[name=action]", "add_to_group")
    page.click("#bulk button[type=submit]")
    expect(page).to_have_url(re.compile(r"/jobs/"))
    expect(page.locator(".job-status")).to_have_text("done", timeout=30_000)
    expect(page.locator(".counts")).to_contain_text("changed: 1")
    members = ok(
        api.call("GET", f"/v1/groups/{ok(api.call('GET', '/v1/groups'))['items'][0]['id']}/members")
    )
    assert [m["fields"]["email"] for m in members["items"]] == ["claire.martin@exposant.fr"]


def test_an_import_with_a_skipped_row_and_its_reason(
    site: Site, page: Page, tmp_path: Path
) -> None:
    sheet = tmp_path / "participants.csv"
    sheet.write_bytes(
        csv_bytes(
            [
                ["E-mail", "Prénom", "Nom", "Société"],
                ["ada@example.org", "Ada", "Lovelace", "Analytical"],
                ["not-an-address", "Bob", "Martin", "Globex"],
            ]
        )
    )
    site.sign_in(page, "editor")
    page.click("nav >> text=Import")
    page.set_input_files("input[name=file]", str(sheet))
    page.click("form[action='/imports'] button[type=submit]")
    expect(page.locator("h1")).to_have_text("Map the columns")
    expect(page.locator("select[name='map.E-mail']")).to_have_value("email")
    page.click("form[action='/imports/start'] button[type=submit]")
    expect(page.locator(".job-status")).to_have_text("done", timeout=30_000)
    expect(page.locator(".created")).to_have_text("1")
    expect(page.locator(".skipped")).to_have_text("1")
    reason = page.locator("table.grid tbody tr").first
    expect(reason.locator("td").first).to_have_text("3")
    expect(reason.locator("td").nth(1)).to_contain_text("email")


def test_delete_by_typing_delete_then_restore(site: Site, page: Page) -> None:
    exhibitor_editions(site)
    site.sign_in(page, "admin")
    page.click("table.grid >> text=Claire Martin")
    page.click("summary >> text=Delete this contact")
    page.fill("form[action$='/delete'] input[name=confirm]", "delete")
    page.click("form[action$='/delete'] button")
    expect(page.locator(".error")).to_contain_text("Type DELETE to confirm.")  # still open
    page.fill("form[action$='/delete'] input[name=confirm]", "DELETE")
    page.click("form[action$='/delete'] button")
    expect(page).to_have_url(re.compile(r"/contacts/deleted"))
    row = page.locator("table.grid tbody tr", has_text="Claire Martin")
    expect(row).to_have_count(1)
    row.locator("button", has_text="Restore").click()
    expect(page.locator(".flash")).to_have_text("Restored.")
    expect(page.locator("h1")).to_have_text("Claire Martin")


def test_an_analyst_sees_no_edit_button_and_a_forged_post_is_403(site: Site, page: Page) -> None:
    exhibitor_editions(site)
    site.sign_in(page, "analyst")
    page.click("table.grid >> text=Claire Martin")
    expect(page.locator("form.fields")).to_have_count(0)
    expect(page.locator("text=Add the note")).to_have_count(0)
    contact_path = page.url.removeprefix(site.url)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        f"{site.url}{contact_path}",
        form={"csrf": csrf or "", "field.company": "Forged"},
        max_redirects=0,
    )
    assert answer.status == 403
    assert "may not edit a contact" in answer.text()

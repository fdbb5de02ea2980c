from tests.builders import headers_for, load


def test_a_rep_signs_in_and_lists_only_their_accounts(app, client):
    load(app)
    headers = headers_for(client, "rep.medellin@example.com")
    response = client.get("/api/v1/accounts", headers=headers)
    assert response.status_code == 200
    codes = [a["code"] for a in response.get_json()["items"]]
    assert codes == ["A-CO-ANT-01-1", "A-CO-ANT-01-2"]

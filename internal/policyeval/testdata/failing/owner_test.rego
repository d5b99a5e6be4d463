package fixture.owner_test

import data.fixture.owner

test_missing_owner_denied if {
	owner.deny == {"no owner"} with input as {"metadata": {}}
}

# Deliberately wrong: an owner is present, yet the test expects a denial.
test_owner_present_denied if {
	owner.deny == {"no owner"} with input as {"metadata": {"owner": "team-a"}}
}

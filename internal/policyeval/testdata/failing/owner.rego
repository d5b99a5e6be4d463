package fixture.owner

deny contains "no owner" if not input.metadata.owner

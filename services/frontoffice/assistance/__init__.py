"""Financial assistance policy and screening: the Federal Poverty Guidelines by household size
(one version per year, loaded from a file), the practice's discount tiers (versioned by
effective date), and screenings that say which tier a household qualifies for, and why."""

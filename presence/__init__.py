"""Field presence (issue 14): duty rosters, sign-ins, visits and the diary, patrol tracks, key
persons and the household file, presence rules and the weekly schedule."""

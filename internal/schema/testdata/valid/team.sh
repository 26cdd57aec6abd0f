export TEAM=analytics

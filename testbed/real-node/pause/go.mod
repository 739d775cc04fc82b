module panda-install.local/testbed/pause

go 1.26.0

module routewise.dev/pause

go 1.22

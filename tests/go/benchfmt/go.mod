module benchfmt

go 1.19

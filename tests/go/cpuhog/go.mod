module cpuhog

go 1.19

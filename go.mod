module maas

go 1.26

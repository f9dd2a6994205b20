module keystone.dev/engine

go 1.19

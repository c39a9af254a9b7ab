// QueryServiceTests

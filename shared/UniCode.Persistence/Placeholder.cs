namespace UniCode.Persistence;

namespace UniCode.Messaging;

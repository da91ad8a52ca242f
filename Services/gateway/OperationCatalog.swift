import SkeinCore

/// Where each operation goes and what it needs. One table, so the routing and the role
/// rules cannot drift apart.
enum OperationCatalog {
    enum Target { case store, auditd, gateway, replication }

    /// What a non-super user needs for an operation.
    enum Requirement {
        case superUser
        case anyUser
        /// A table permission (`read`, `insert`, `update`, `delete`) on the request's table.
        case table([String])
        /// Creating or dropping structure: a structure user's (`structure_user`); `databases`
        /// for whole databases (`structure_user: true` only), else tables and attributes.
        case structure(databases: Bool)
        /// `describe_database`: a database the role may see (the answer shows what it may use).
        case describeDatabase
        /// `describe_all`: anyone; the answer shows what the role may use.
        case describeAll
    }

    struct Entry {
        let target: Target
        let requirement: Requirement
    }

    static let entries: [String: Entry] = {
        var e: [String: Entry] = [:]
        for op in ["add_user", "alter_user", "drop_user", "list_users", "add_role", "alter_role", "list_roles", "drop_role"] {
            e[op] = Entry(target: .store, requirement: .superUser)
        }
        for op in ["create_database", "create_schema", "drop_database", "drop_schema"] {
            e[op] = Entry(target: .store, requirement: .structure(databases: true))
        }
        for op in ["create_table", "drop_table", "create_attribute", "drop_attribute"] {
            e[op] = Entry(target: .store, requirement: .structure(databases: false))
        }
        e["describe_all"] = Entry(target: .store, requirement: .describeAll)
        e["describe_database"] = Entry(target: .store, requirement: .describeDatabase)
        e["describe_schema"] = Entry(target: .store, requirement: .describeDatabase)
        e["describe_table"] = Entry(target: .store, requirement: .table(["read"]))
        for op in ["search_by_id", "search_by_hash", "search_by_value", "search_by_conditions"] {
            e[op] = Entry(target: .store, requirement: .table(["read"]))
        }
        e["insert"] = Entry(target: .store, requirement: .table(["insert"]))
        e["update"] = Entry(target: .store, requirement: .table(["update"]))
        e["upsert"] = Entry(target: .store, requirement: .table(["insert", "update"]))
        e["delete"] = Entry(target: .store, requirement: .table(["delete"]))
        e["read_audit_log"] = Entry(target: .auditd, requirement: .superUser)
        // A job: steps of auditd's delete_audit_logs_before (AuditLogsBefore).
        e["delete_audit_logs_before"] = Entry(target: .gateway, requirement: .superUser)
        e["user_info"] = Entry(target: .gateway, requirement: .anyUser)
        e["create_authentication_tokens"] = Entry(target: .gateway, requirement: .anyUser)
        // Jobs run in the gateway; a CSV load writes through the store as the caller, with the
        // permission its action needs (JobRunner.startCSVLoad checks it).
        e["csv_data_load"] = Entry(target: .gateway, requirement: .anyUser)
        // Reading any file of the node, or fetching any URL from it: super users only.
        e["csv_file_load"] = Entry(target: .gateway, requirement: .superUser)
        e["csv_url_load"] = Entry(target: .gateway, requirement: .superUser)
        e["export_local"] = Entry(target: .gateway, requirement: .superUser)
        e["delete_records_before"] = Entry(target: .gateway, requirement: .table(["delete"]))
        // A statement names its own tables: SQLOperation checks each for what it does.
        e["sql"] = Entry(target: .gateway, requirement: .anyUser)
        e["get_job"] = Entry(target: .gateway, requirement: .anyUser)
        e["search_jobs_by_start_date"] = Entry(target: .gateway, requirement: .superUser)
        e["refresh_operation_token"] = Entry(target: .gateway, requirement: .anyUser)
        for op in ["system_information", "get_configuration", "read_log", "cluster_status"] {
            e[op] = Entry(target: .gateway, requirement: .superUser)
        }
        for op in ["add_node", "update_node", "set_node", "remove_node", "cluster_set_routes", "cluster_get_routes",
                   "cluster_delete_routes", "configure_cluster"] {
            e[op] = Entry(target: .replication, requirement: .superUser)
        }
        return e
    }()

    /// Harper's other names: the request is handled as the operation they name.
    static let aliases: [String: String] = [
        "set_node_replication": "update_node",
        "read_transaction_log": "read_audit_log",
        "delete_transaction_logs_before": "delete_audit_logs_before",
    ]
    /// Operations whose results the store or auditd hand out in pages (`PagedResult`).
    static let pagedOperations: Set<String> = ["search_by_id", "search_by_hash", "search_by_value", "search_by_conditions", "read_audit_log"]
    /// Operations that change users: the gateway hashes their password before forwarding.
    static let passwordOperations: Set<String> = ["add_user", "alter_user"]
    /// Operations after which cached users must be forgotten.
    static let userChanging: Set<String> = ["add_user", "alter_user", "drop_user", "add_role", "alter_role", "drop_role"]
}
